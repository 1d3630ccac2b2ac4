#!/usr/bin/python3
"""Helper of benchmarks/soak/run (standard library only).

  check.py create URL ADMIN_KEY COUNT OUT      create COUNT tokens, write "id secret" lines to OUT
  check.py verify URL ADMIN_KEY WORKDIR        check the run against the audit log; print figures

verify reads, in WORKDIR: tokens (from create), events.jsonl (the server's --json stderr: every
audit event, with its seq), lua.json (what rotate.lua saw), rss (samples "unix_seconds kB"),
times ("wrk_start unix_seconds", "wrk_end unix_seconds"), and asks the running server for
GET /admin/v1/events (the in-memory audit log, the latest max_events) and GET /admin/v1/tokens/<id>.
Exits 1 on any violation, naming each.
"""
import http.client
import json
import os
import random
import sys
import urllib.parse

START = 1798761600  # 2027-01-01T00:00:00Z, the frozen clock of the soak server


class Admin:
    def __init__(self, url, key):
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        self.headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=self.headers)
                r = self.conn.getresponse()
                return r.status, json.loads(r.read() or b"null")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # an idle keep-alive connection is closed by the server after 5 s: open another
                self.conn.close()
                if attempt == 2:
                    raise


def create(url, key, count, out):
    admin = Admin(url, key)
    with open(out, "w") as f:
        for _ in range(count):
            status, t = admin.call("POST", "/admin/v1/tokens",
                                   {"rotationPeriodMinutes": 60, "expiresAt": START + 365 * 86400})
            if status != 201:
                sys.exit(f"soak: creating a token: {status} {t}")
            f.write(f"{t['id']} {t['rawSecret']}\n")


def verify(url, key, work):
    bad = []
    figures = []

    def violation(text):
        bad.append(text)

    initial = [line.split()[0] for line in open(os.path.join(work, "tokens"))]
    lua = json.load(open(os.path.join(work, "lua.json")))
    times = dict(line.split() for line in open(os.path.join(work, "times")))
    wrk_start, wrk_end = float(times["wrk_start"]), float(times["wrk_end"])

    # --- the audit log: the complete stream (stderr) and the in-memory tail (HTTP) ----------------
    admin = Admin(url, key)
    status, tail = admin.call("GET", "/admin/v1/events")
    if status != 200:
        violation(f"GET /admin/v1/events: {status}")
        tail = {"events": []}
    tail = tail["events"]
    events = {}
    with open(os.path.join(work, "events.jsonl")) as f:
        for line in f:
            if line.startswith("{"):
                e = json.loads(line)
                if e["seq"] in events:
                    violation(f"event seq {e['seq']} logged twice")
                events[e["seq"]] = e
    last = max(events) if events else 0
    missing = [s for s in range(1, last + 1) if s not in events]
    if missing:
        violation(f"{len(missing)} event seqs missing from the stream (first {missing[:5]})")
    differ = [e["seq"] for e in tail if events.get(e["seq"]) != e]
    if differ:
        violation(f"{len(differ)} events of GET /admin/v1/events differ from the stream (first {differ[:5]})")
    tail_first = tail[0]["seq"] if tail else 0
    figures.append(f"audit log: {last} events streamed; GET /admin/v1/events holds seq {tail_first}..{tail[-1]['seq'] if tail else 0} "
                   f"({len(tail)}), identical to the stream")

    ordered = [events[s] for s in sorted(events)]
    created = [e["tokenId"] for e in ordered if e["kind"] == "token-created"]
    if created != initial:
        violation(f"token-created events ({len(created)}) do not match the tokens made ({len(initial)})")

    # --- every 200 rotation: a new child of a known, not yet rotated parent --------------------------
    known = set(initial)
    root = {t: t for t in initial}
    child_of = {}          # parent -> child
    parent_of = {}
    rotations_by_root = {}
    next_index = len(initial) + 1
    kinds = {}
    refusals = {}
    for e in ordered:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
        st = e.get("status", 0)
        if st >= 500 or (e["kind"] == "request"):
            violation(f"event {e['seq']}: {e['kind']} status {st} {e.get('error', '')}")
        if e["kind"] == "rotation":
            p, ch = e["tokenId"], e["childId"]
            if st != 200:
                violation(f"rotation {e['seq']} has status {st}")
            if p not in known:
                violation(f"rotation {e['seq']}: parent {p} is not a known token")
                continue
            if p in child_of:
                violation(f"rotation {e['seq']}: parent {p} rotated twice ({child_of[p]}, {ch})")
            if ch in known:
                violation(f"rotation {e['seq']}: child {ch} already exists")
            if ch != f"tok_{next_index}":
                violation(f"rotation {e['seq']}: child {ch}, expected tok_{next_index} (ids follow commits)")
            next_index += 1
            known.add(ch)
            child_of[p] = ch
            parent_of[ch] = p
            root[ch] = root[p]
            rotations_by_root[root[p]] = rotations_by_root.get(root[p], 0) + 1
        elif e["kind"] in ("rotation-refused", "access-refused"):
            k = e["kind"] + ":" + e.get("error", "")
            refusals[k] = refusals.get(k, 0) + 1
    rotations = sum(rotations_by_root.values())

    # --- what the Lua script saw, chain by chain ---------------------------------------------------
    counters = {}
    lua_chains = {}
    inflight = {}
    for t in lua["threads"]:
        for k, v in t["counters"].items():
            counters[k] = counters.get(k, 0) + v
        for tid, ch in t["chains"].items():
            lua_chains[tid] = ch
        if t["inflight"]:
            k = t["inflight"]["kind"]
            inflight[k] = inflight.get(k, 0) + 1
            if k == "rotate":
                inflight.setdefault("rotate-chains", set()).add(t["inflight"]["chain"])
    for k, v in counters.items():
        if "unexpected" in k or k in ("orphan", "rotate_200_unparsable") or (k.startswith("rotate_") and k not in ("rotate_200",)):
            violation(f"rotate.lua counted {v} x {k}")
    lua_rotations = counters.get("rotate_200", 0)
    in_flight_committed = 0
    for tid in initial:
        seen = lua_chains.get(tid, {}).get("rotations", 0)
        logged = rotations_by_root.get(tid, 0)
        if logged == seen:
            continue
        if logged == seen + 1 and tid in inflight.get("rotate-chains", set()):
            in_flight_committed += 1  # rotated when wrk stopped: the server answered, wrk had quit
            continue
        violation(f"chain from {tid}: rotate.lua saw {seen} rotations, the audit log has {logged}")
    figures.append(f"rotations: {rotations} in the audit log = {lua_rotations} answered 200 to rotate.lua + "
                   f"{in_flight_committed} in flight when wrk stopped (of {len(inflight.get('rotate-chains', ()))} "
                   f"rotations in flight); {len(rotations_by_root)} chains; every child new, every parent known "
                   f"and rotated once")
    replays = counters.get("replay_401", 0)
    refused_rot = refusals.get("rotation-refused:already-rotated", 0)
    if not (replays <= refused_rot <= replays + inflight.get("replay", 0)):
        violation(f"already-rotated refusals: rotate.lua got {replays}, the audit log has {refused_rot}")
    for k, v in refusals.items():
        if k != "rotation-refused:already-rotated":
            violation(f"{v} x {k} in the audit log")
    access_lua = counters.get("access_200", 0) + counters.get("access-parent_200", 0)
    access_log = kinds.get("access", 0)
    access_inflight = inflight.get("access", 0) + inflight.get("access-parent", 0)
    if not (access_lua <= access_log <= access_lua + access_inflight):
        violation(f"protected calls: rotate.lua got {access_lua} x 200, the audit log has {access_log}")
    figures.append(f"refused re-rotations of a parent (401 already-rotated, expected): {refused_rot}; "
                   f"protected calls answered 200: {access_log} (incl. {counters.get('access-parent_200', 0)} "
                   f"with the rotated parent, inside its buffer)")

    # --- the server's own view of the tokens -------------------------------------------------------
    total = len(initial) + rotations
    st, _ = admin.call("GET", f"/admin/v1/tokens/tok_{total}")
    st2, _ = admin.call("GET", f"/admin/v1/tokens/tok_{total + 1}")
    if st != 200 or st2 != 404:
        violation(f"token count: tok_{total} -> {st}, tok_{total + 1} -> {st2} (expected 200, 404)")
    tips = [t for t in known if t not in child_of]
    middles = [t for t in child_of if t in parent_of]
    rng = random.Random(1)
    sample = rng.sample(middles, min(1000, len(middles)))
    for tid in tips + sample:
        st, v = admin.call("GET", f"/admin/v1/tokens/{tid}")
        want_status = "active" if tid not in child_of else "rotated"
        want_children = [child_of[tid]] if tid in child_of else []
        if st != 200 or v.get("status") != want_status or v.get("usable") is not True \
                or v.get("parentId") != parent_of.get(tid) or v.get("childIds", []) != want_children:
            violation(f"token {tid}: {st} {v}, expected {want_status}, parent {parent_of.get(tid)}, children {want_children}")
    figures.append(f"tokens: {total} on the server ({len(initial)} made + {rotations} rotations); "
                   f"{len(tips)} chain tips active and {len(sample)} sampled parents rotated, "
                   f"lineage as logged")

    # --- wrk ---------------------------------------------------------------------------------------
    errs = lua["errors"]
    for k in ("connect", "read", "write", "timeout"):
        if errs[k]:
            violation(f"wrk: {errs[k]} socket {k} errors")
    if errs["status"] != replays:
        violation(f"wrk: {errs['status']} responses >= 400, expected only the {replays} refused re-rotations")
    seconds = lua["durationUs"] / 1e6
    lat = lua["latencyUs"]
    figures.insert(0, f"wrk: {lua['requests']} requests in {seconds:.1f} s = {lua['requests'] / seconds:.0f} requests/s, "
                      f"{lua_rotations / seconds:.0f} rotations/s; latency mean {lat['mean'] / 1000:.2f} ms, "
                      f"p50 {lat['p50'] / 1000:.2f} ms, p90 {lat['p90'] / 1000:.2f} ms, p99 {lat['p99'] / 1000:.2f} ms, "
                      f"p99.9 {lat['p999'] / 1000:.2f} ms, max {lat['max'] / 1000:.2f} ms; socket errors "
                      f"{errs['connect'] + errs['read'] + errs['write'] + errs['timeout']}")

    # --- memory ------------------------------------------------------------------------------------
    warmup = float(os.environ.get("SOAK_WARMUP", "10"))
    per_token = int(os.environ.get("SOAK_BYTES_PER_TOKEN", "256"))
    samples = [(float(t), int(kb)) for t, kb in (line.split() for line in open(os.path.join(work, "rss")))]
    during = [(t, kb) for t, kb in samples if wrk_start + warmup <= t <= wrk_end]
    figures.append("RSS (MB) at +s: " + ", ".join(f"{t - wrk_start:+.0f}s {kb / 1024:.0f}" for t, kb in samples))
    if len(during) >= 2:
        (t0, kb0), (t1, kb1) = during[0], during[-1]
        growth = (kb1 - kb0) * 1024
        # The token table grows by one record per rotation (about 104 bytes plus hash slots and
        # vector doubling); rotations in the window are estimated at the run's average rate.
        window_rotations = rotations * (t1 - t0) / max(wrk_end - wrk_start, 1e-9)
        explained = window_rotations * per_token
        unexplained = growth - explained
        figures.append(f"memory after {warmup:.0f} s of warm-up: {kb0 / 1024:.1f} MB -> {kb1 / 1024:.1f} MB "
                       f"({growth / 2**20:+.1f} MB; the token table may take {explained / 2**20:.1f} MB for "
                       f"~{window_rotations:.0f} new tokens at {per_token} B each; unexplained "
                       f"{unexplained / 2**20:+.1f} MB = {100 * unexplained / (kb0 * 1024):+.1f}% of the warm RSS; measured "
                       f"{growth / max(window_rotations, 1):.0f} B per new token)")
        if unexplained > 0.10 * kb0 * 1024:
            violation(f"memory grew {unexplained / 2**20:.1f} MB beyond the token table (> 10% of {kb0 / 1024:.1f} MB)")
    else:
        violation("fewer than 2 RSS samples after warm-up (run longer than SOAK_WARMUP)")

    print("\n".join("soak: " + f for f in figures))
    if bad:
        print(f"soak: FAILED, {len(bad)} violations:")
        for b in bad[:50]:
            print("  - " + b)
        return 1
    print("soak: OK: no rotation lost or duplicated, no unexpected failure, memory flat")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "create":
        create(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) == 5 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(__doc__)
