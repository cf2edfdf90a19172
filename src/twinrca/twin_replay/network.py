"""Generated networks: core, transport (fibre and microwave, protected), sites, cells.

Layout of a generated network (element ids in brackets)::

    core:rK                         one core node per region
     └── tx:agg-K-J  (fibre)        aggregation links, ~8 sites each
          └── tx:acc-N (fibre|mw)   one access link per site
               └── site:N           mains power + battery (attrs battery_min)
                    └── cell:N-S-B  3 sectors x 1..3 bands

About 15 % of the sites get a second access link from another aggregation link
(``tx:prot-N``): they have two parents and survive the loss of either (protected).
About 20 % of the access links have a manual standby path (``standby_path``), which
``RA-SWITCH-PROTECTION`` can switch to. Neighbour relations join the co-band cells of
a site and of its nearest sites.
"""

from __future__ import annotations

import math

import numpy as np

from twinrca.core.errors import ValidationError
from twinrca.core.topology import Element, ElementKind, Topology

__all__ = ["BANDS", "generate_topology"]

# band -> (peak DL capacity in Mbit/s, share of sites that carry it)
BANDS: dict[str, tuple[float, float]] = {
    "L08": (60.0, 1.0),
    "L18": (150.0, 0.7),
    "N35": (400.0, 0.35),
}
_SITES_PER_AGG = 8
_SITES_PER_REGION = 250
_KM_PER_DEG = 111.0


def _site_bands(rng: np.random.Generator, n_sites: int) -> list[list[str]]:
    bands = []
    for _ in range(n_sites):
        chosen = [b for b, (_, share) in BANDS.items() if rng.random() < share]
        bands.append(chosen or ["L08"])
    return bands


def _cells_per_site(rng: np.random.Generator, n_cells: int) -> list[list[str]]:
    """Bands per site, trimmed so the network has exactly ``n_cells`` cells."""
    n_sites = max(1, math.ceil(n_cells / 6))
    while True:
        bands = _site_bands(rng, n_sites)
        total = sum(3 * len(b) for b in bands)
        if total >= n_cells:
            break
        n_sites += max(1, (n_cells - total) // 5)
    out, left = [], n_cells
    for b in bands:
        if left <= 0:
            break
        take = min(left, 3 * len(b))
        out.append([f"{s}-{band}" for band in b for s in range(1, 4)][:take])
        left -= take
    return out


def _positions(
    rng: np.random.Generator, n_sites: int, n_regions: int
) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.uniform([-0.6, -0.6], [0.6, 0.6], size=(n_regions, 2)) + np.array([48.8, 2.3])
    region = np.minimum(np.arange(n_sites) * n_regions // max(n_sites, 1), n_regions - 1)
    spread = 0.04 + 0.002 * math.sqrt(_SITES_PER_REGION)
    xy = centres[region] + rng.normal(0.0, spread, size=(n_sites, 2))
    return xy, region


def _nearest_sites(xy: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` nearest other sites of every site (brute force, in chunks)."""
    n = len(xy)
    k = min(k, n - 1)
    out = np.zeros((n, max(k, 0)), dtype=np.int64)
    if k <= 0:
        return out
    for lo in range(0, n, 512):
        d = ((xy[lo : lo + 512, None, :] - xy[None, :, :]) ** 2).sum(-1)
        d[np.arange(d.shape[0]), np.arange(lo, lo + d.shape[0])] = np.inf
        out[lo : lo + 512] = (
            np.argpartition(d, k - 1, axis=1)[:, :k] if k < n else np.argsort(d, 1)[:, :k]
        )
    return out


def generate_topology(
    cells: int,
    *,
    seed: int = 0,
    protected_share: float = 0.15,
    standby_share: float = 0.2,
    microwave_share: float = 0.55,
    neighbour_sites: int = 3,
) -> Topology:
    """A realistic synthetic network with exactly ``cells`` cells (1 to 200,000)."""
    if not 1 <= cells <= 200_000:
        raise ValidationError("bad_size", f"cells must be 1..200000, got {cells}")
    rng = np.random.default_rng(seed)
    site_cells = _cells_per_site(rng, cells)
    n_sites = len(site_cells)
    n_regions = max(1, math.ceil(n_sites / _SITES_PER_REGION))
    xy, region = _positions(rng, n_sites, n_regions)
    elements: list[Element] = []
    feeds: list[tuple[str, str]] = []
    for r in range(n_regions):
        c = xy[region == r].mean(0) if (region == r).any() else xy[0]
        elements.append(
            Element(
                f"core:r{r}",
                ElementKind.CORE,
                float(c[0]),
                float(c[1]),
                f"r{r}",
                {"capacity_mbps": 200_000.0},
            )
        )
    aggs = _aggregation(elements, feeds, xy, region, n_regions)
    site_agg = np.zeros(n_sites, dtype=np.int64)
    for r in range(n_regions):
        members = np.flatnonzero(region == r)
        site_agg[members] = np.arange(len(members)) // _SITES_PER_AGG
    for i in range(n_sites):
        _add_site(
            elements,
            feeds,
            rng,
            i,
            xy[i],
            int(region[i]),
            aggs[int(region[i])],
            int(site_agg[i]),
            site_cells[i],
            (protected_share, standby_share, microwave_share),
        )
    neighbours = _neighbours(site_cells, _nearest_sites(xy, neighbour_sites))
    return Topology(elements, feeds, neighbours)


def _aggregation(
    elements: list[Element],
    feeds: list[tuple[str, str]],
    xy: np.ndarray,
    region: np.ndarray,
    n_regions: int,
) -> list[list[str]]:
    aggs: list[list[str]] = []
    for r in range(n_regions):
        members = np.flatnonzero(region == r)
        names = []
        for j in range(max(1, math.ceil(len(members) / _SITES_PER_AGG))):
            group = members[j * _SITES_PER_AGG : (j + 1) * _SITES_PER_AGG]
            c = xy[group].mean(0) if len(group) else xy[0]
            name = f"tx:agg-{r}-{j}"
            elements.append(
                Element(
                    name,
                    ElementKind.TRANSPORT,
                    float(c[0]),
                    float(c[1]),
                    f"r{r}",
                    {"medium": "fibre", "capacity_mbps": 20_000.0, "level": "aggregation"},
                )
            )
            feeds.append((f"core:r{r}", name))
            names.append(name)
        aggs.append(names)
    return aggs


def _add_site(
    elements: list[Element],
    feeds: list[tuple[str, str]],
    rng: np.random.Generator,
    i: int,
    xy: np.ndarray,
    region: int,
    aggs: list[str],
    agg: int,
    cells: list[str],
    shares: tuple[float, float, float],
) -> None:
    protected_share, standby_share, microwave_share = shares
    reg = f"r{region}"
    lat, lon = float(xy[0]), float(xy[1])
    medium = "microwave" if rng.random() < microwave_share else "fibre"
    cap = 1_000.0 if medium == "microwave" else 10_000.0
    acc = f"tx:acc-{i}"
    elements.append(
        Element(
            acc,
            ElementKind.TRANSPORT,
            lat,
            lon,
            reg,
            {
                "medium": medium,
                "capacity_mbps": cap,
                "level": "access",
                "standby_path": bool(rng.random() < standby_share),
            },
        )
    )
    feeds.append((aggs[agg], acc))
    site = f"site:{i}"
    elements.append(
        Element(
            site,
            ElementKind.SITE,
            lat,
            lon,
            reg,
            {"mains": True, "battery_min": int(rng.choice([30, 60, 90, 120, 180, 240]))},
        )
    )
    feeds.append((acc, site))
    if len(aggs) > 1 and rng.random() < protected_share:
        prot = f"tx:prot-{i}"
        other = aggs[(agg + 1) % len(aggs)]
        elements.append(
            Element(
                prot,
                ElementKind.TRANSPORT,
                lat,
                lon,
                reg,
                {
                    "medium": "fibre",
                    "capacity_mbps": 10_000.0,
                    "level": "access",
                    "protection": True,
                },
            )
        )
        feeds.append((other, prot))
        feeds.append((prot, site))
    for name in cells:
        sector, band = name.split("-")
        az = (int(sector) - 1) * 120.0
        d = 0.002
        elements.append(
            Element(
                f"cell:{i}-{name}",
                ElementKind.CELL,
                lat + d * math.cos(math.radians(az)),
                lon + d * math.sin(math.radians(az)),
                reg,
                {
                    "sector": int(sector),
                    "band": band,
                    "azimuth": az,
                    "capacity_mbps": BANDS[band][0],
                    "pci": int(rng.integers(0, 504)),
                },
            )
        )
        feeds.append((site, f"cell:{i}-{name}"))


def _neighbours(site_cells: list[list[str]], near: np.ndarray) -> list[tuple[str, str]]:
    by_band: list[dict[str, list[str]]] = []
    for i, cells in enumerate(site_cells):
        d: dict[str, list[str]] = {}
        for name in cells:
            d.setdefault(name.split("-")[1], []).append(f"cell:{i}-{name}")
        by_band.append(d)
    pairs: set[tuple[str, str]] = set()
    for i, bands in enumerate(by_band):
        for band, cells in bands.items():
            for a in cells:
                for b in cells:
                    if a < b:
                        pairs.add((a, b))
                for j in near[i]:
                    for b in by_band[int(j)].get(band, ()):
                        pairs.add((min(a, b), max(a, b)))
    return sorted(pairs)
