"""bench.scale's storm: 10,000 messages in 60 s, the cut link's alarms and noise."""

from __future__ import annotations

import pandas as pd
from bench.scale import STORM_ALARMS, STORM_WINDOW_S, _root_incident, storm_frame

from twinrca.detect.detector import detect_incidents
from twinrca.fmea.catalogue import load_catalogue
from twinrca.twin_replay import generate_topology


def test_storm_frame_shape_and_root_incident() -> None:
    topo, cat = generate_topology(150, seed=4), load_catalogue()
    frame, link = storm_frame(topo, cat, seed=1, noise=0.05)
    storm = frame.pop("_storm")
    assert len(frame) == STORM_ALARMS
    assert int((~storm).sum()) == STORM_ALARMS - int(STORM_ALARMS * 0.95)
    span = (frame["event_time"].max() - frame["event_time"].min()).total_seconds()
    assert 0 < span <= STORM_WINDOW_S
    under = topo.descendants(link) | {link}
    assert frame.loc[storm, "managed_object"].isin(under).all()
    assert not frame.loc[~storm, "managed_object"].isin(under).any()
    assert set(frame.loc[storm, "state"]) == {"raised", "cleared"}  # flapping
    assert (frame.loc[~storm, "state"] == "raised").all()
    assert frame["event_time"].is_monotonic_increasing
    head = frame[frame["event_time"] <= frame["event_time"].iloc[0] + pd.Timedelta(seconds=5)]
    seen = int((storm[head.index] & (head["state"] == "raised")).sum())
    incidents = detect_incidents(head, topo, silent=False)
    assert _root_incident(incidents, link, seen)
    assert not _root_incident(incidents, "no-such-link", seen)
