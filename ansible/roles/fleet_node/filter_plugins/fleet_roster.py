# The fleet's roster, merged on the control machine with the lines the Pis report
# (`fleet-node identity`). The file is `<node-id> <base64 key>` per member, `!<node-id> <key>` per
# revoked node, blank and `#` lines for people. Every line not touched stays as it was (comments,
# order): a merge of nothing gives the file back, so pushing an unchanged roster changes nothing.
# fleetctl reads and revokes the same format (fleetctl/src/roster/roster-file.ts).

import re

from ansible.errors import AnsibleFilterError

# Node ids as node/src/util/ids.ts allows them; keys are raw 32-byte Ed25519 keys in base64.
LINE = re.compile(r"^(!?)([A-Za-z0-9][A-Za-z0-9._-]{0,63})\s+([A-Za-z0-9+/]{43}=)$")

HEADER = [
    "# The fleet's roster: one line per node, '<node-id> <public key>'; '!<node-id> <key>' is revoked.",
    "# Written by `fleetctl up` (the fleet_node role) and `fleetctl roster`; every Pi holds a copy.",
]


def _parse(line, where):
    m = LINE.match(line.strip())
    if not m:
        raise AnsibleFilterError("%s: %r is not '<node-id> <base64 32-byte key>' (or '!' and that)" % (where, line.strip()[:80]))
    return m.group(1) == "!", m.group(2), m.group(3)


def fleet_roster_merge(existing, reported, admit=None):
    """The roster text after the Pis' lines are taken in.

    existing: the roster file's text ('' when there is none yet).
    reported: '<node-id> <key>' lines read from the Pis in this run.
    admit: node ids whose reported line re-admits them although the roster revokes them
    (`fleetctl roster add`); a revoked node otherwise stays revoked, whatever key it reports now.
    A member reporting another key (its state folder was wiped) is enrolled with the new one.
    """
    admit = set(str(a) for a in (admit or []))
    lines = existing.splitlines() if existing else list(HEADER)
    where = {}
    for i, line in enumerate(lines):
        if line.strip() == "" or line.strip().startswith("#"):
            continue
        revoked, node_id, key = _parse(line, "roster line %d" % (i + 1))
        if node_id in where:
            raise AnsibleFilterError("roster line %d: %s is already on line %d; a node has one line" % (i + 1, node_id, where[node_id][0] + 1))
        where[node_id] = (i, revoked, key)
    for line in reported:
        revoked, node_id, key = _parse(line, "the line a Pi reported")
        if revoked:
            raise AnsibleFilterError("a Pi reported %r: a node cannot revoke itself" % line)
        if node_id not in where:
            where[node_id] = (len(lines), False, key)
            lines.append("%s %s" % (node_id, key))
            continue
        i, was_revoked, old_key = where[node_id]
        if (was_revoked and node_id not in admit) or (not was_revoked and old_key == key):
            continue
        lines[i] = "%s %s" % (node_id, key)
        where[node_id] = (i, False, key)
    return "\n".join(lines) + "\n"


class FilterModule(object):
    def filters(self):
        return {"fleet_roster_merge": fleet_roster_merge}
