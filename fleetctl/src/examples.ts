// The examples each --help ends with, by command. examples.test.ts runs every one that can run on
// one machine (the demo, status and check against stand-in nodes) and parses the others through
// their command's schema, so an example cannot name a flag or a value that no longer works.

export interface Example {
  line: string;
  says: string;
}

export const EXAMPLES: Record<string, Example[]> = {
  "": [
    { line: "fleetctl demo", says: "a fleet on this machine: teach Pi-1, watch the others merge" },
    { line: "fleetctl image build --arch arm64", says: "the node image for the Pis (Docker)" },
    { line: "fleetctl up -i inventory/hosts.yml", says: "install what is missing, start every node" },
    { line: "fleetctl check -i inventory/hosts.yml", says: "teach one Pi, wait for all to merge, ask another" },
    { line: "fleetctl sim up -n 3 -i sim.yml", says: "no Pis at hand: three simulated ones (Docker)" },
  ],
  demo: [
    { line: "fleetctl demo --nodes 2 --json", says: "two nodes, the report as JSON" },
    { line: "fleetctl demo --lessons 3", says: "then three lessons across the nodes, and what each node recalls" },
    { line: 'fleetctl demo --question "What is 3+3" --answer 6', says: "another correction" },
  ],
  status: [
    { line: "fleetctl status -i inventory/hosts.yml", says: "a row per node; exit 1 if one is down or the models differ" },
    { line: "fleetctl status -i inventory/hosts.yml -l pi-1,pi-2 --timeout 2 --json", says: "two Pis, 2 s each, as JSON" },
  ],
  check: [
    { line: "fleetctl check -i inventory/hosts.yml --teacher pi-2 --timeout 300", says: "teach pi-2, give the others 5 minutes" },
  ],
  train: [
    { line: "fleetctl train -i inventory/hosts.yml --dataset data/quiz.jsonl --rounds 3", says: "three FedAvg rounds over the example quiz" },
    { line: "fleetctl train -i inventory/hosts.yml --dataset data/quiz.jsonl --rounds 5 --straggler-timeout 20 --json", says: "a slow Pi waits at most 20 s a round; the report as JSON" },
  ],
  "roster list": [{ line: "fleetctl roster list -i inventory/hosts.yml", says: "members, revoked nodes, Pis not enrolled yet" }],
  "roster revoke": [{ line: "fleetctl roster revoke -i inventory/hosts.yml lab", says: "node lab's deltas are merged nowhere from now on" }],
  "roster add": [{ line: "fleetctl roster add -i inventory/hosts.yml lab", says: "read lab's key on its Pi again and admit it" }],
  logs: [{ line: "fleetctl logs -i inventory/hosts.yml -n 50 -o logs", says: "50 lines per node, also kept in logs/" }],
  "sim up": [{ line: "fleetctl sim up -n 3 -i sim.yml", says: "three simulated Pis and their inventory" }],
  "image smoke": [{ line: "fleetctl image smoke --arch arm64 --timeout 600", says: "the Pi image under qemu" }],
  dashboard: [
    { line: "fleetctl dashboard -i inventory/hosts.yml", says: "open the classroom page of the first node that answers" },
    { line: "fleetctl dashboard -i inventory/hosts.yml -l pi-2 --print", says: "pi-2's page: print the link (it holds the token)" },
  ],
  "monitor up": [{ line: "fleetctl monitor up -i inventory/hosts.yml", says: "Prometheus (and Grafana) for the fleet" }],
};

/** The "Examples:" block of a help text. */
export function examplesHelp(examples: Example[]): string {
  return `\nExamples:\n${examples.map((e) => `  # ${e.says}\n  $ ${e.line}\n`).join("")}`;
}
