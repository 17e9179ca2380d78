"""Which detections of a followed video face get a descriptor (forensics.faces.select)."""
from __future__ import annotations

from forensics.faces.detect import Candidate
from forensics.faces.select import DescribeRates, DescriptorSelector


def _cand(x: int, size: int = 30, sharp: float = 100.0, conf: float = 0.85, yaw: float = 0.0, y: int = 100) -> Candidate:
    box = (y, x + size, y + size, x)
    return Candidate(box, box, conf, size, sharp, yaw)


def _walk(sel: DescriptorSelector, frames) -> list[float]:
    """Times at which a described detection came out, for one face per frame."""
    out = []
    for t, c in frames:
        if sel.choose(t, [c]):
            out.append(t)
    return out


def test_a_steady_face_is_described_first_then_about_once_a_second():
    sel = DescriptorSelector(DescribeRates(every=1.0))
    times = _walk(sel, [(i * 0.25, _cand(100 + 10 * i)) for i in range(12)])  # 3 s, 12 looks
    assert times == [0.0, 1.0, 2.0]
    assert sel.counts == {"detections": 12, "described": 3}


def test_the_sharp_frame_that_turns_to_the_camera_is_described():
    sel = DescriptorSelector(DescribeRates(every=1.0))
    frames = [(i * 0.25, _cand(100 + 10 * i, sharp=60.0, yaw=0.5)) for i in range(8)]
    frames[3] = (0.75, _cand(130, sharp=200.0, yaw=0.5))  # in focus for one frame
    frames[6] = (1.5, _cand(160, sharp=60.0, yaw=0.05))  # turns to the camera
    frames[5] = (1.25, _cand(150, size=38, sharp=60.0, yaw=0.5))  # comes closer
    times = _walk(sel, frames)
    assert 0.75 in times and 1.25 in times and 1.5 in times
    assert 0.25 not in times and 0.5 not in times


def test_two_faces_side_by_side_are_each_described():
    """Matching is one to one per frame: a second person next to a followed one is not
    taken for the same face."""
    sel = DescriptorSelector(DescribeRates(every=1.0))
    assert len(sel.choose(0.0, [_cand(100)])) == 1
    got = sel.choose(0.25, [_cand(105), _cand(140)])  # the new face is 35 px from the old one
    assert [c.box for c in got] == [_cand(140).box]


def test_every_zero_describes_every_detection_and_a_forgotten_face_is_new_again():
    sel = DescriptorSelector(DescribeRates(every=0.0))
    assert _walk(sel, [(i * 0.25, _cand(100)) for i in range(4)]) == [0.0, 0.25, 0.5, 0.75]
    sel = DescriptorSelector(DescribeRates(every=5.0, forget=2.0))
    assert _walk(sel, [(0.0, _cand(100)), (0.5, _cand(100)), (3.0, _cand(100))]) == [0.0, 3.0]


def test_the_followed_span_covers_undescribed_and_looked_back_detections():
    sel = DescriptorSelector(DescribeRates(every=1.0))
    assert sel.choose(5.0, [_cand(200)]) and sel.chosen_idents == [1]
    for t in (4.75, 4.5, 4.25):  # the look-back walks backwards in time
        assert sel.choose(t, [_cand(200 - int(40 * (5.0 - t)))]) == []
    assert sel.choose(5.25, [_cand(210)]) == []
    assert sel.span(1) == (4.25, 5.25)
