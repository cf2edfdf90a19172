"""Synthetic log systems with known event types, to check that templates generalise.

Each system is a list of event makers in the style of a family of logs (a proxy's
connection log, a mobile OS, a Java data-processing job, a pipe-separated app log, a
cloud controller). They are written from the general shapes such logs take, not
copied from any data set: variable-length host:port chains, sizes in several
units (``1.23 KB``, ``4 MB``), durations in several formats (``<1 sec``, ``00:01``,
``01:02:03``), ``key=value`` runs, nested brackets, dotted identifiers with few
distinct values. :func:`generate` returns (event label, message) pairs from a seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["SYSTEMS", "generate"]

Maker = Callable[[random.Random], str]


def _ip(r: random.Random) -> str:
    return ".".join(str(r.randint(1, 254)) for _ in range(4))


def _host(r: random.Random) -> str:
    name = r.choice(["www", "api", "cdn", "mail", "edge", "static", "auth", "img"])
    site = r.choice(["example", "contoso", "acme-corp", "nodes", "streamhub", "north"])
    return f"{name}{r.choice(['', str(r.randint(1, 9))])}.{site}.{r.choice(['com', 'net', 'io'])}"


def _hostport(r: random.Random) -> str:
    return f"{r.choice([_host(r), _ip(r)])}:{r.choice([80, 443, 8080, r.randint(1024, 65535)])}"


def _size(r: random.Random) -> str:
    unit = r.choice(["KB", "MB", "GB"])
    return f"{r.uniform(1, 999):.2f} {unit}"


def _duration(r: random.Random) -> str:
    mm_ss = f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"
    return r.choice(
        ["<1 sec", f"00:{r.randint(0, 59):02d}", mm_ss, f"{r.randint(0, 9):02d}:{mm_ss}"]
    )


def _chain(r: random.Random) -> str:
    return ", ".join(_hostport(r) for _ in range(r.randint(1, 4)))


def _hex(r: random.Random, n: int = 7) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


_PROXY: list[Maker] = [
    lambda r: f"{_hostport(r)} open through proxy {_hostport(r)} HTTPS",
    lambda r: f"{_hostport(r)} open through proxy {_hostport(r)} SOCKS5",
    lambda r: (
        f"{_hostport(r)} close, {r.randint(0, 9999)} bytes sent, "
        f"{r.randint(0, 9999)} bytes received, lifetime {_duration(r)}"
    ),
    lambda r: (
        f"{_hostport(r)} close, {r.randint(10**4, 10**9)} bytes ({_size(r)}) sent, "
        f"{r.randint(10**4, 10**9)} bytes ({_size(r)}) received, lifetime {_duration(r)}"
    ),
    lambda r: (
        f"{_hostport(r)} error : Could not connect through proxy {_hostport(r)} - "
        "Proxy server cannot establish a connection with the target, "
        f"status code {r.randint(400, 599)}"
    ),
    lambda r: (
        f"{_hostport(r)} error : A connection request was canceled before the completion. "
        f"(lifetime {_duration(r)})"
    ),
    lambda r: f"Connecting through proxy chain {_chain(r)}",
    lambda r: f"{_hostport(r)} resolved to {_ip(r)}, {r.randint(1, 9)} addresses",
]

_APPS = ["com.example.mail/.ui.InboxActivity", "org.sample.player/.PlaybackActivity"]
_TAGS = ['"View Lock"', '"*alarm*"', '"WindowManager"', '"sync adapter"']
_PKGS = ["com.android.systemui", "com.example.mail", "android"]

_MOBILE: list[Maker] = [
    lambda r: (
        f"acquire lock={r.randint(10**7, 10**9)}, flags=0x{_hex(r, 1)}, tag={r.choice(_TAGS)}, "
        f"name={r.choice(_PKGS)}, ws=null, uid={r.randint(1000, 10200)}, pid={r.randint(100, 9999)}"
    ),
    lambda r: f"release lock={r.randint(10**7, 10**9)}, flags=0x{_hex(r, 1)}",
    lambda r: (
        f"Skipping AppWindowToken{{{_hex(r)} token=Token{{{_hex(r)} ActivityRecord{{{_hex(r)} "
        f"u0 {r.choice(_APPS)} t{r.randint(1, 999)}}}}}}} -- going to hide"
    ),
    lambda r: (
        f"getRunningAppProcesses: caller {r.randint(10000, 10200)} does not hold "
        "REAL_GET_TASKS; limiting output"
    ),
    lambda r: f"Bad activity token: android.os.BinderProxy@{_hex(r)}",
    lambda r: (
        f"startingWindow for {r.choice(_APPS)} visible={r.choice(['true', 'false'])} "
        f"drawn={r.choice(['true', 'false'])}"
    ),
    lambda r: f"onScreenTurnedOff reason={r.randint(1, 4)} duration={r.randint(1, 999)}ms",
    lambda r: f"Package {r.choice(_PKGS)} uid {r.randint(10000, 10200)} moved to background",
    lambda r: (
        f"opening app wtoken = AppWindowToken{{{_hex(r)} token=Token{{{_hex(r)}}}}}, "
        f"allDrawn= {_bool(r)}, startingDisplayed =  {_bool(r)}, isRelaunching =  {_bool(r)}"
    ),
    lambda r: (
        f"setSystemUiVisibility vis={_hex(r, 8)} mask={r.choice(['ffffffff', 'ffff0000'])} "
        f"oldVal={r.randint(0, 999)} fullscreenStackBounds=Rect({r.randint(0, 9)}, 0 - "
        f"{r.randint(0, 1080)}, {r.randint(0, 1920)})"
    ),
    lambda r: (
        f"ready={_bool(r)},policy={r.randint(0, 3)},wakefulness={r.randint(0, 2)},"
        f"bootcompleted={_bool(r)},mode={_bool(r)},adj={r.uniform(-1, 1):.1f}"
    ),
]


def _bool(r: random.Random) -> str:
    return r.choice(["true", "false"])


_JAVA: list[Maker] = [
    lambda r: (
        f"Finished task {r.randint(0, 99)}.0 in stage {r.randint(0, 9)}.0 "
        f"(TID {r.randint(0, 999)}). {r.randint(900, 3000)} bytes result sent to driver"
    ),
    lambda r: (
        f"Running task {r.randint(0, 99)}.0 in stage {r.randint(0, 9)}.0 (TID {r.randint(0, 999)})"
    ),
    lambda r: (
        f"Block rdd_{r.randint(0, 50)}_{r.randint(0, 50)} stored as values in memory "
        f"(estimated size {_size(r)}, free {_size(r)})"
    ),
    lambda r: f"Reading broadcast variable {r.randint(0, 40)} took {r.randint(1, 900)} ms",
    lambda r: (
        f"Retrying connect to server: {_host(r)}/{_ip(r)}:{r.randint(1024, 65535)}. Already tried "
        f"{r.randint(0, 9)} time(s); retry policy is RetryUpToMaximumCountWithFixedSleep"
        f"(maxRetries={r.randint(1, 50)}, sleepTime={r.randint(1, 5000)} MILLISECONDS)"
    ),
    lambda r: f"Started reading broadcast variable {r.randint(0, 40)}",
    lambda r: (
        f"Getting {r.randint(1, 99)} non-empty blocks out of {r.randint(100, 200)} blocks, "
        f"fetching from {_chain(r)}"
    ),
]

_APP: list[Maker] = [
    lambda r: f"onStandStepChanged {r.randint(1, 9999)}",
    lambda r: (
        f"REPORT : {r.randint(1, 9999)} {r.randint(0, 9)} "
        f"{r.randint(10**5, 10**6)} {r.randint(0, 300)}"
    ),
    lambda r: (
        f"setTodayTotalDetailSteps={r.randint(10**12, 10**13)}##{r.randint(1, 9999)}##"
        f"{r.randint(1, 9999)}##{r.randint(1, 9999)}##{r.randint(1, 9999)}"
    ),
    lambda r: f"calculateCaloriesWithCache totalCalories={r.randint(1, 200000)}",
    lambda r: f"flush sensor data ok, cost {r.randint(1, 99)}ms, {r.randint(1, 300)} records",
    lambda r: f"upload data: {r.choice(['steps', 'heart_rate'])}|size={_size(r)}|result=ok",
]

_CLOUD: list[Maker] = [
    lambda r: (
        f'{_ip(r)} "GET /v2/{_hex(r, 32)}/servers/detail HTTP/1.1" status: 200 '
        f"len: {r.randint(200, 2000)} time: {r.uniform(0, 1):.7f}"
    ),
    lambda r: (
        f'{_ip(r)} "POST /v2/{_hex(r, 32)}/os-server-external-events HTTP/1.1" status: 200 '
        f"len: {r.randint(200, 2000)} time: {r.uniform(0, 1):.7f}"
    ),
    lambda r: f"[instance: {_uuid(r)}] VM Started (Lifecycle Event)",
    lambda r: f"[instance: {_uuid(r)}] Took {r.uniform(1, 30):.2f} seconds to spawn the instance",
    lambda r: (
        f"Final resource view: name={_host(r)} phys_ram={r.randint(1, 64000)}MB "
        f"used_ram={r.randint(1, 64000)}MB phys_disk={r.randint(1, 900)}GB vcpus={r.randint(1, 64)}"
    ),
    lambda r: f"image {_uuid(r)} at ({_path(r)}): checking",
]


def _uuid(r: random.Random) -> str:
    return "-".join(_hex(r, n) for n in (8, 4, 4, 4, 12))


def _path(r: random.Random) -> str:
    parts = [r.choice(["var", "lib", "data", "srv"]) for _ in range(r.randint(2, 5))]
    return "/" + "/".join(parts) + "/" + _hex(r, 12)


SYSTEMS: dict[str, list[Maker]] = {
    "proxy": _PROXY,
    "mobile": _MOBILE,
    "java": _JAVA,
    "app": _APP,
    "cloud": _CLOUD,
}


def generate(system: str, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (event label, message) pairs of one synthetic system."""
    makers = SYSTEMS[system]
    rng = random.Random(seed)
    # uneven event frequencies, as in real logs
    weights = [1.0 / (k + 1) for k in range(len(makers))]
    picks = rng.choices(range(len(makers)), weights=weights, k=n)
    return [(f"{system}:E{k}", makers[k](rng)) for k in picks]
