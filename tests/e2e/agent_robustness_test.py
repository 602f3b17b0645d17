"""joulecast-agent under stress, against the real agent on a free 127.0.0.1 port:

- sensors that fail while it serves: fake GPU 1 answers every NVML call with an error from 3 s to 5 s (a
  transient failure), fake GPU 2 is lost at 4 s, and the fake RAPL package's energy_uj holds garbage from 3.5 s
  to 5 s while its counter keeps running and wraps every 5 s;
- 100 concurrent scrapes;
- clients that send half a request and stall (headers cut short, or a body shorter than its Content-Length):
  the agent must keep answering others quickly and drop the stalled ones after its timeouts (5 s to read,
  then 5 s for a next request on the connection);
- a second agent on the same port, which must fail instead of sharing it;
- an agent whose only GPU is lost, which must then report its nvml sensor down with the reason.

Throughout, a scraper reads /metrics every 50 ms: every joulecast_energy_joules_total series must be present
and never smaller than in the scrape before; every concurrent scrape must lie between the scrapes taken just
before and just after. At the end: the read errors were counted, GPU 1's energy over the whole time is half of
GPU 0's (its counter caught up after the failure), GPU 2's energy stopped when it was lost, the RAPL package's
energy is its known 50 W over the time, and the agent still answers and exits 0 on SIGTERM.

usage: agent_robustness_test.py JOULECAST_AGENT LIBNVIDIA_ML_FAKE
"""

import concurrent.futures
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

agent, fake_nvml = sys.argv[1:3]
RAPL_W = 50.0
RAPL_RANGE_UJ = 250_000_000  # 250 J: wraps every 5 s at 50 W
STALLED = 10  # clients that stall at once (the agent has 16 worker threads)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(text):
    """{(name, labels text): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})? (\S+)$", line)
        assert m, f"not a sample line: {line!r}"
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def energy(series):
    return {labels: v for (name, labels), v in series.items() if name == "joulecast_energy_joules_total"}


def device(series, name):
    found = [v for labels, v in energy(series).items() if f'device="{name}"' in labels]
    assert len(found) == 1, (name, energy(series))
    return found[0]


def get(port, path="/metrics", timeout=10):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode()
        assert response.status == 200, (path, response.status, body[:200])
        return body
    finally:
        connection.close()


def now():
    return time.monotonic() - T0


tmp = tempfile.mkdtemp(prefix="joulecast-robust-")
zone = os.path.join(tmp, "sys/class/powercap/intel-rapl:0")
os.makedirs(zone)
os.makedirs(os.path.join(tmp, "proc"))
with open(os.path.join(zone, "name"), "w") as f:
    f.write("package-0\n")
with open(os.path.join(zone, "max_energy_range_uj"), "w") as f:
    f.write(f"{RAPL_RANGE_UJ}\n")
energy_uj = os.path.join(zone, "energy_uj")

T0_NS = time.monotonic_ns()
T0 = T0_NS * 1e-9
stop_writer = threading.Event()


def rapl_writer():
    """energy_uj at 50 W from T0, wrapping at the range, rewritten in place (one pwrite of a fixed width)
    every 10 ms; garbage from 3.5 s to 5 s."""
    fd = os.open(energy_uj, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while not stop_writer.is_set():
            t = now()
            if 3.5 <= t < 5.0:
                text = "x" * 12 + "\n"
            else:
                text = "%012d\n" % (int(10_000_000 + RAPL_W * 1e6 * t) % RAPL_RANGE_UJ)
            os.pwrite(fd, text.encode(), 0)
            time.sleep(0.01)
    finally:
        os.close(fd)


with open(energy_uj, "w") as f:
    f.write("%012d\n" % 10_000_000)
writer = threading.Thread(target=rapl_writer, daemon=True)
writer.start()

port = free_port()
env = dict(os.environ, JOULECAST_NVML_LIBRARY=fake_nvml, FAKE_NVML_T0_NS=str(T0_NS),
           FAKE_NVML_SCRIPT="gpus=3;gpu0.power=200;gpu1.power=100;gpu1.fail_after=3;gpu1.fail_until=5;"
                            "gpu2.power=50;gpu2.lost_after=4",
           JOULECAST_SYSFS_ROOT=os.path.join(tmp, "sys"), JOULECAST_PROC_ROOT=os.path.join(tmp, "proc"))
env.pop("CUDA_VISIBLE_DEVICES", None)
log = open(os.path.join(tmp, "agent.log"), "w+")
proc = subprocess.Popen([agent, "serve", "--listen", f"127.0.0.1:{port}", "--interval-ms", "100",
                         "--runs-dir", os.path.join(tmp, "runs")], env=env, stderr=log)
failed = True
try:
    for _ in range(100):
        try:
            get(port, "/-/healthy", timeout=1)
            break
        except (OSError, AssertionError):
            time.sleep(0.1)
    else:
        raise AssertionError("the agent did not answer within 10 s")

    # A second agent on the same port must fail rather than share it (SO_REUSEPORT would let it take half of
    # the scrapes, and Prometheus would see the two agents' counters alternate).
    # It shares the runs folder, where it must leave the first agent's agent.pid as it was.
    pid_file = os.path.join(tmp, "runs", "agent.pid")
    announced = open(pid_file).read()
    second = subprocess.run([agent, "serve", "--listen", f"127.0.0.1:{port}", "--runs-dir",
                             os.path.join(tmp, "runs")], env=env, capture_output=True, text=True, timeout=10)
    assert second.returncode == 1 and "cannot listen on" in second.stderr, (second.returncode, second.stderr)
    assert os.path.exists(pid_file) and open(pid_file).read() == announced, "the second agent touched agent.pid"
    print("a second agent on the same port: exit 1, 'cannot listen on ...', the first one's agent.pid kept")

    # The scraper: every 50 ms until told to stop; every scrape checked against the one before.
    scrapes = []  # (t, series)
    scraper_error = []
    stop_scraper = threading.Event()

    def scraper():
        try:
            while not stop_scraper.is_set():
                series = parse(get(port))
                t = now()
                if scrapes:
                    before = energy(scrapes[-1][1])
                    after = energy(series)
                    assert set(before) <= set(after), f"series vanished: {set(before) - set(after)}"
                    for labels, value in before.items():
                        assert after[labels] >= value, f"{labels} fell from {value} to {after[labels]} at {t:.2f} s"
                scrapes.append((t, series))
                time.sleep(0.05)
        except Exception as error:  # reported by the main thread
            scraper_error.append(error)

    scraper_thread = threading.Thread(target=scraper, daemon=True)
    scraper_thread.start()
    while now() < 1.0 or not scrapes:
        time.sleep(0.05)
    first_t, first = scrapes[-1]
    names = set(energy(first))
    print(f"{first_t:.2f} s: {len(names)} energy series: {sorted(names)}")
    assert len(names) == 4, names  # gpu0, gpu1, gpu2 and the RAPL package
    # Each GPU's series carry its UUID (the fake's GPU-fake-<i>); the RAPL package has none.
    for i in range(3):
        assert f'{{domain="gpu",device="gpu{i}",uuid="GPU-fake-{i}",method="counter"}}' in names, names
    assert '{domain="cpu",device="package-0",method="counter"}' in names, names

    # 100 concurrent scrapes, all started at once.
    before = energy(parse(get(port)))
    barrier = threading.Barrier(100)

    def one_scrape(_):
        barrier.wait()
        start = time.monotonic()
        body = get(port, timeout=30)
        return time.monotonic() - start, energy(parse(body))

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(100) as pool:
        results = list(pool.map(one_scrape, range(100)))
    wall = time.monotonic() - start
    after = energy(parse(get(port)))
    for _, served in results:
        assert set(served) == set(before), (set(served), set(before))
        for labels, value in served.items():
            assert before[labels] <= value <= after[labels], (labels, before[labels], value, after[labels])
    slowest = max(d for d, _ in results)
    print(f"100 concurrent scrapes: all answered 200 in {wall:.2f} s (slowest {slowest:.2f} s), "
          "each between the scrapes before and after")

    # Clients that send half a request and stall: headers cut short, and a body shorter than announced.
    stalled = []
    for i in range(STALLED):
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        if i % 2 == 0:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Ag")
        else:
            s.sendall(b"POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nhalf a body")
        stalled.append(s)
    stall_start = time.monotonic()
    latencies = []
    for _ in range(20):
        start = time.monotonic()
        get(port)
        latencies.append(time.monotonic() - start)
        time.sleep(0.05)
    print(f"{STALLED} stalled clients: 20 scrapes meanwhile, slowest {max(latencies) * 1000:.0f} ms")
    assert max(latencies) < 2.0, f"a scrape took {max(latencies):.2f} s while clients stalled"
    closed_after, answers = [], []
    for s in stalled:
        data = b""
        try:
            while True:  # the agent closes (perhaps after an error page) once its read timeout is up
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            raise AssertionError("the agent kept a stalled client for over 15 s")
        closed_after.append(time.monotonic() - stall_start)
        s.close()
        answers.append(data.split(b"\r\n", 1)[0].decode(errors="replace"))
    print(f"stalled clients dropped by the agent after {min(closed_after):.1f} to {max(closed_after):.1f} s, "
          f"answers {sorted(set(answers))}")
    # cpp-httplib's 5 s read timeout, then its 5 s wait for a next request on the connection
    assert 4 <= min(closed_after) and max(closed_after) < 12, closed_after
    # Each gets a 400 for its half request, or the connection closes without an answer.
    assert set(answers) <= {"HTTP/1.1 400 Bad Request", ""}, answers

    # Past the failures: let the counters run a while longer.
    while now() < 9.0:
        time.sleep(0.1)
    stop_scraper.set()
    scraper_thread.join()
    if scraper_error:
        raise scraper_error[0]
    last_t, last = scrapes[-1]
    print(f"{len(scrapes)} sequential scrapes from {first_t:.2f} s to {last_t:.2f} s: no energy series ever fell")

    errors = [v for (name, _), v in last.items() if name == "joulecast_agent_read_errors_total"][0]
    before_failure = [v for t, s in scrapes if t < 2.9 for (name, _), v in s.items()
                      if name == "joulecast_agent_read_errors_total"][-1]
    print(f"read errors: {before_failure:.0f} before the failures, {errors:.0f} at the end")
    assert errors >= before_failure + 10, (before_failure, errors)

    # The self metrics move with the work: readings, CPU time, and the time of the previous scrape.
    def self_metric(series, name):
        return [v for (n, _), v in series.items() if n == name][0]
    readings = [self_metric(s, "joulecast_agent_readings_total") for _, s in (scrapes[0], scrapes[-1])]
    cpu = [self_metric(s, "joulecast_agent_cpu_seconds_total") for _, s in (scrapes[0], scrapes[-1])]
    scrape_s = self_metric(last, "joulecast_agent_scrape_duration_seconds")
    print(f"self metrics: {readings[1] - readings[0]:.0f} readings, {cpu[1] - cpu[0]:.3f} CPU s, "
          f"last scrape built in {scrape_s * 1e3:.2f} ms")
    assert readings[1] - readings[0] >= 100 and cpu[1] > cpu[0] and 0 < scrape_s < 1, (readings, cpu, scrape_s)

    gpu0 = device(last, "gpu0") - device(first, "gpu0")
    gpu1 = device(last, "gpu1") - device(first, "gpu1")
    print(f"gpu0 {gpu0:.1f} J, gpu1 {gpu1:.1f} J over the same readings (counters; 200 W and 100 W): "
          f"ratio {gpu1 / gpu0:.4f}")
    assert abs(gpu1 / gpu0 - 0.5) <= 0.01, "gpu1's counter did not catch up after its failure"
    lost = [device(s, "gpu2") for t, s in scrapes if t > 5.5]
    assert lost and all(v == lost[-1] for v in lost), "gpu2's energy changed after it was lost"
    print(f"gpu2 lost at 4 s: its energy stays at {lost[-1]:.1f} J")
    rapl = device(last, "package-0") - device(first, "package-0")
    want = RAPL_W * (last_t - first_t)
    print(f"RAPL package-0: {rapl:.1f} J from {first_t:.2f} s to {last_t:.2f} s (50 W, a wrap every 5 s, 1.5 s of "
          f"garbage): want {want:.1f} J")
    assert abs(rapl - want) <= 0.05 * want, (rapl, want)

    # The nvml sensor stays up while one GPU of three is left; an agent whose only GPU is lost reports it down.
    assert [v for (n, l), v in last.items() if n == "joulecast_sensor_up" and 'sensor="nvml"' in l] == [1], last
    port2 = free_port()
    env2 = dict(env, FAKE_NVML_SCRIPT="gpus=1;gpu0.power=100;gpu0.lost_after=1", FAKE_NVML_T0_NS=str(time.monotonic_ns()))
    lone = subprocess.Popen([agent, "serve", "--listen", f"127.0.0.1:{port2}", "--interval-ms", "100",
                             "--runs-dir", os.path.join(tmp, "runs-lone")], env=env2, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.5)
        page = parse(get(port2))
    finally:
        lone.terminate()
        lone.wait()
    up = [v for (n, l), v in page.items() if n == "joulecast_sensor_up" and 'sensor="nvml"' in l]
    down = [l for (n, l), v in page.items() if n == "joulecast_sensor_down_info" and 'sensor="nvml"' in l]
    print(f"the only GPU lost: sensor_up {up}, {down}")
    assert up == [0] and down, page
    assert re.search(r"every channel stopped while the agent ran: [1-9]\d* on devices lost, 0 no longer", down[0])
    # Its series stays, at what its counter had measured: at most 100 W for the 1 s before it was lost.
    assert 0 <= device(page, "gpu0") <= 101, device(page, "gpu0")

    get(port, "/-/healthy")
    assert proc.poll() is None, "the agent died"
    proc.send_signal(signal.SIGTERM)
    status = proc.wait(timeout=10)
    assert status == 0, f"the agent exited with {status} on SIGTERM"
    failed = False
    print("PASS")
finally:
    stop_writer.set()
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if failed:
        log.seek(0)
        print("agent log:\n" + log.read())
    subprocess.run(["rm", "-rf", tmp])
