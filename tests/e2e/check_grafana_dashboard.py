"""Checks deploy/grafana-dashboard.json against a real joulecast-agent and a real Prometheus scraping it.

- Every PromQL expression of the dashboard (panels' targets) and every template query names only metrics the
  agent serves (taken from a live /metrics scrape) and only labels it serves or Prometheus adds (instance,
  job); every $variable is a template variable of the dashboard or a Grafana built-in.
- Each expression, with the variables set as Grafana would, parses and runs in Prometheus: /api/v1/query
  answers status "success".
- The key panels give the known figures: the fake GPU's power, the phases' energy of a finished run (its
  JSON), energy per sample only for running runs, the job's own share of a shared GPU (75%).

usage: check_grafana_dashboard.py DASHBOARD PROMETHEUS_URL AGENT_URL FINISHED_RUN_JSON RUNNING_RUN_NAME WATTS OUT
Writes the energy per sample the panel shows for RUNNING_RUN_NAME's train phase to OUT.
"""

import json
import re
import sys
import urllib.parse
import urllib.request

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan", "Inf", "NaN", "atan2"}
GRAFANA_BUILTINS = {"__rate_interval": "5s", "__range": "1m", "__interval": "1s", "__range_s": "60",
                    "__interval_ms": "1000"}


def metric_names(expr):
    """The metric names a PromQL expression selects (identifiers that are not functions, keywords, label
    names or inside strings, label matchers or ranges)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", s):
        if s[m.end():].lstrip().startswith("(") or m.group(0) in KEYWORDS:
            continue
        names.add(m.group(0))
    return names


def label_names(expr):
    """The label names a PromQL expression uses: in matchers and in by/without/on/ignoring/group_* clauses."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    names = set()
    for matchers in re.findall(r"\{([^}]*)\}", s):
        names.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", matchers))
    for clause in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", s):
        names.update(n.strip() for n in clause.split(",") if n.strip())
    # label_replace(v, "dst", "replacement", "src", "regex"): dst and src are label names
    for dst, src in re.findall(r'label_replace\(.*?,\s*"(\w+)"\s*,\s*"[^"]*"\s*,\s*"(\w+)"', expr):
        names.update((dst, src))
    return names


# The extractors must be able to fail: a few known answers.
assert metric_names('sum by (a) (rate(foo_total{b="x{y}"}[5m])) / on (a) bar * 3.6e6') == {"foo_total", "bar"}
assert metric_names('label_replace(up, "x", "y", "z", "")') == {"up"}
assert label_names('sum by (a, b) (m{c=~"x", d!=""}) / on (e) group_left() n') == {"a", "b", "c", "d", "e"}


def scrape(url):
    """The agent's /metrics: sample names and every label name they carry."""
    names, labels = set(), set()
    for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? \S+$", line)
        assert m, f"not a sample line: {line!r}"
        names.add(m.group(1))
        labels.update(re.findall(r'(\w+)="', m.group(2) or ""))
    return names, labels


def substitute(expr, variables):
    def value(m):
        name = m.group(1) or m.group(2)
        assert name in variables, f"${name} in {expr!r} is no template variable of the dashboard"
        return variables[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def query(api, expr):
    url = api + "/api/v1/query?query=" + urllib.parse.quote(expr)
    try:
        answer = json.load(urllib.request.urlopen(url, timeout=10))
    except urllib.error.HTTPError as error:  # a bad query is a 400 with the parser's error in the body
        answer = json.loads(error.read().decode())
    assert answer.get("status") == "success", f"Prometheus refused {expr!r}: {answer}"
    return answer["data"]["result"]


def main():
    dashboard_path, api, agent, finished_json, running_name, watts, out = sys.argv[1:8]
    watts = float(watts)
    dashboard = json.load(open(dashboard_path))
    served, served_labels = scrape(agent + "/metrics")
    served_labels |= {"instance", "job"}  # added by Prometheus at scrape time
    print(f"agent serves {len(served)} metric names, labels {sorted(served_labels)}")

    templating = dashboard["templating"]["list"]
    assert any(v["type"] == "datasource" and v["query"] == "prometheus" for v in templating), \
        "no Prometheus datasource variable"
    variables = dict(GRAFANA_BUILTINS)
    for v in templating:
        variables[v["name"]] = v.get("allValue", ".*") if v["type"] == "query" else v["name"]
    # Template queries: label_values(METRIC, LABEL), asked of Prometheus's label values API.
    for v in templating:
        if v["type"] != "query":
            continue
        assert v["datasource"]["uid"] == "${datasource}", v["name"]
        m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", v["query"]["query"])
        assert m, f"template {v['name']}: not label_values(metric, label): {v['query']}"
        metric, label = m.groups()
        assert metric in served, f"template {v['name']} names {metric}, which the agent does not serve"
        assert label in served_labels, f"template {v['name']} names label {label}, which nothing carries"
        url = f"{api}/api/v1/label/{label}/values?match[]={urllib.parse.quote(metric)}"
        values = json.load(urllib.request.urlopen(url, timeout=5))
        assert values["status"] == "success" and values["data"], (v["name"], values)
        print(f"template {v['name']}: {values['data']}")

    results = {}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            expr = target["expr"]
            names = metric_names(expr)
            assert names, f"{panel['title']}: no metric in {expr!r}"
            unknown = names - served
            assert not unknown, f"{panel['title']}: {sorted(unknown)} not served by the agent ({expr!r})"
            unknown = label_names(expr) - served_labels
            assert not unknown, f"{panel['title']}: labels {sorted(unknown)} not served ({expr!r})"
            result = query(api, substitute(expr, variables))
            results.setdefault(panel["title"], []).append(result)
            print(f"{panel['title']} [{target['refId']}]: {len(result)} series, metrics {sorted(names)}")

    def series(title, ref=0):
        return [(r["metric"], float(r["value"][1])) for r in results[title][ref]]

    # Power by node and device: the rate of gpu0's energy counter is the fake's power.
    gpu = [v for labels, v in series("Power by node and device") if labels.get("device") == "gpu0"]
    assert len(gpu) == 1 and abs(gpu[0] - watts) <= 0.05 * watts, f"gpu0 power {gpu}, want {watts} W"
    gauge = [v for labels, v in series("Power readings by node and device") if labels.get("device") == "gpu0"]
    assert len(gauge) == 1 and abs(gauge[0] - watts) <= 0.01 * watts, f"gpu0 power reading {gauge}"
    print(f"power by node and device: gpu0 {gpu[0]:.1f} W (counter rate), {gauge[0]:.1f} W (reading)")

    # Energy by job and phase: the finished run's phases and whole run, as in its JSON.
    run = json.load(open(finished_json))
    by_phase = {labels["phase"]: v for labels, v in series("Energy by job and phase")
                if labels.get("name") == run["name"]}
    want = {p["name"]: p["energy_j"]["total"] for p in run["phases"]}
    want["(whole run)"] = run["energy_j"]["total"]
    print(f"energy by job and phase of {run['name']}: {by_phase}; JSON {want}")
    assert set(by_phase) == set(want), (by_phase, want)
    for phase, joules in want.items():
        assert abs(by_phase[phase] - joules) <= 0.01 * joules, (phase, by_phase[phase], joules)

    # Energy per sample: the running run's train phase only; the finished run (with samples) is left out.
    per_sample = series("Energy per sample of running jobs")
    names = {labels.get("name") for labels, _ in per_sample}
    assert names == {running_name}, f"energy per sample shows {names}, want only the running {running_name}"
    train = [v for labels, v in per_sample if labels.get("phase") == "train"]
    assert len(train) == 1, per_sample
    print(f"energy per sample of {running_name}'s train phase: {train[0]:.4f} J/sample")
    with open(out, "w") as f:
        f.write(repr(train[0]))

    # The job's own share: the running run shares its GPU (the job at 60% SM beside an outsider at 20%).
    shares = {labels.get("domain"): v for labels, v in series("The job's own share of the energy, by domain")
              if labels.get("name") == running_name}
    print(f"the job's own share of {running_name}: {shares}")
    # 75% once the job's process is on the GPU; its first half-second share interval may count 0 when the
    # process started late on a busy machine (the run has gone on for over a second here).
    assert "gpu" in shares and 0.55 <= shares["gpu"] <= 0.80, shares
    assert all(0 <= v <= 1.0001 for v in shares.values()), shares

    down = series("Sensors down")
    assert down and all(labels.get("reason") for labels, _ in down), down
    cpu, scrape_s = series("Agent CPU and scrape time", 0), series("Agent CPU and scrape time", 1)
    assert cpu and scrape_s and all(v >= 0 for _, v in cpu) and all(v > 0 for _, v in scrape_s), (cpu, scrape_s)
    print("dashboard: every expression parses, names served metrics and gives the known figures")


if __name__ == "__main__":
    main()
