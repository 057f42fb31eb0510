// The inventory `fleetctl sim up` writes for its simulated Pis: the same format a person writes
// for real ones (ansible/inventory/hosts.yml), so the playbooks run against it unchanged.

export interface SimHost {
  name: string;
  address: string;
  nodeId: string;
  interface: string;
}

export interface SimInventory {
  hosts: SimHost[];
  sshUser: string;
  privateKeyFile: string;
  /** Group variables for the `pis` group (fleet settings). */
  vars: Record<string, string | number | boolean>;
}

/** YAML with every scalar JSON-quoted (a JSON string is a valid YAML double-quoted scalar). */
export function simInventoryYaml(inv: SimInventory, header: string): string {
  const q = (v: string | number | boolean) => (typeof v === "string" ? JSON.stringify(v) : String(v));
  const lines = header.split("\n").map((l) => `# ${l}`.trimEnd());
  lines.push("---", "all:", "  children:", "    pis:", "      hosts:");
  for (const h of inv.hosts) {
    lines.push(`        ${h.name}:`);
    lines.push(`          ansible_host: ${q(h.address)}`);
    lines.push(`          fleet_node_id: ${q(h.nodeId)}`);
    lines.push(`          fleet_node_interface: ${q(h.interface)}`);
  }
  lines.push("      vars:");
  const vars: Record<string, string | number | boolean> = {
    ansible_user: inv.sshUser,
    ansible_ssh_private_key_file: inv.privateKeyFile,
    // Simulated Pis get new host keys on every `sim up`: nothing to remember them by.
    ansible_ssh_common_args: "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
    ansible_python_interpreter: "/usr/bin/python3",
    ...inv.vars,
  };
  for (const [k, v] of Object.entries(vars)) lines.push(`        ${k}: ${q(v)}`);
  return lines.join("\n") + "\n";
}
