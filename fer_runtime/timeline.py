"""Who felt what and when in a video: per tracked person, the share of time in each label (`uncertain` its own),
the longest time in each (from one moment of change to the next), the moments the label changed, and the probabilities over time for a plot.

Built frame by frame from `fer-run --video`'s records (`TimelineBuilder.add`), so memory does not grow with
the video: each person keeps counters, the current stretch, their changes and at most `MAX_BINS` time bins
of mean probabilities (two neighbours merge when there would be more).

The rules, stated once (`SummaryRules`): a person is a track (`track.FaceTracker`): a face that is missing for
more than `track.MAX_MISSED` frames and comes back is a new person (nothing re-identifies faces). People seen
for less than `min_person_s` are dropped (and counted). A change of label is a moment of change only once the
new label has held for `min_stretch_s`; shorter flickers count in the shares but neither are moments nor
end a stretch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fer_runtime.markdown import markdown_table

MAX_BINS = 512  # time bins of probabilities kept per person (the timeline plot's resolution)
RETURNING_FACE = "a new person (faces are not re-identified)"  # what a face that leaves and comes back is
FORGET_AFTER_S = 10.0  # a track unseen this long has ended (the tracker numbers a returning face anew)


@dataclass(frozen=True)
class SummaryRules:
    min_person_s: float = 1.0
    min_stretch_s: float = 0.5


@dataclass(frozen=True)
class Stretch:
    label: str
    start_s: float
    end_s: float  # the time of its last frame

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Change:
    """A moment of change: the label `to` held `min_stretch_s`, from `time_s` on, after `from_label`."""

    time_s: float
    from_label: str
    to: str


@dataclass(frozen=True)
class PersonSummary:
    """One tracked person: when seen, the share of frames per label (largest first), the longest stretch per
    label (longest first), the moments of change, and mean probabilities per time bin of `bin_s` seconds."""

    track: int
    first_s: float
    last_s: float
    frames: int
    shares: dict[str, float]
    longest: dict[str, Stretch]
    changes: list[Change]
    bin_s: float
    bins: list[tuple[float, list[float]]]  # (bin start in seconds, mean probabilities in class order)

    def to_json(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "first_s": self.first_s,
            "last_s": self.last_s,
            "frames": self.frames,
            "shares": self.shares,
            "longest": {
                label: {"start_s": s.start_s, "end_s": s.end_s, "seconds": s.seconds}
                for label, s in self.longest.items()
            },
            "changes": [{"time_s": c.time_s, "from": c.from_label, "to": c.to} for c in self.changes],
            "timeline": {"bin_s": self.bin_s, "bins": self.bins},
        }


@dataclass(frozen=True)
class VideoSummary:
    """What was seen in a video (`TimelineBuilder.summary`); `to_json` is the summary's file, the page's too."""

    frames: int
    seconds: float
    classes: list[str]
    rules: SummaryRules
    dropped_people: int  # seen for under rules.min_person_s
    people: list[PersonSummary]

    def to_json(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "seconds": self.seconds,
            "classes": self.classes,
            "rules": {
                "min_person_s": self.rules.min_person_s,
                "min_stretch_s": self.rules.min_stretch_s,
                "returning_face": RETURNING_FACE,
            },
            "dropped_people": self.dropped_people,
            "people": [person.to_json() for person in self.people],
        }


@dataclass
class _Bins:
    """Mean probabilities over fixed-width time bins; the width doubles when more than MAX_BINS are needed."""

    classes: int
    width_s: float
    sums: dict[int, np.ndarray] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)

    def add(self, time_s: float, scores: np.ndarray) -> None:
        index = int(time_s // self.width_s)
        while index >= MAX_BINS:
            self._coarsen()
            index = int(time_s // self.width_s)
        self.sums[index] = self.sums.get(index, np.zeros(self.classes)) + scores
        self.counts[index] = self.counts.get(index, 0) + 1

    def _coarsen(self) -> None:
        sums: dict[int, np.ndarray] = {}
        counts: dict[int, int] = {}
        for index, total in self.sums.items():
            sums[index // 2] = sums.get(index // 2, np.zeros(self.classes)) + total
            counts[index // 2] = counts.get(index // 2, 0) + self.counts[index]
        self.sums, self.counts, self.width_s = sums, counts, 2 * self.width_s

    def means(self) -> list[tuple[float, list[float]]]:
        """(bin start in seconds, mean probabilities) for the bins that saw the person, in time order."""
        return [(i * self.width_s, list(self.sums[i] / self.counts[i])) for i in sorted(self.sums)]


@dataclass
class _Person:
    track: int
    first_s: float
    bins: _Bins
    last_s: float = 0.0
    frames: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    current: Stretch | None = None
    longest: dict[str, Stretch] = field(default_factory=dict)
    changes: list[tuple[float, str, str]] = field(default_factory=list)  # (time, from, to)
    settled: str | None = None  # the label of the last stretch that held min_stretch_s
    settled_since: float = 0.0  # and when that stretch began


class TimelineBuilder:
    """Feed it frame records in order (`add`); `summary()` at any time gives what was seen so far."""

    def __init__(self, classes: Sequence[str], rules: SummaryRules | None = None, frame_s: float = 0.04) -> None:
        self.classes, self.rules = list(classes), rules or SummaryRules()
        self._frame_s = frame_s  # the first bins' width: one frame
        self._people: dict[int, _Person] = {}
        self.frames, self.last_s, self._forgotten = 0, 0.0, 0

    def add(self, record: dict[str, Any]) -> None:
        """One frame's record: `time_s` and `faces`, each with `track`, `label` and `scores`."""
        time_s = float(record["time_s"])
        self.frames, self.last_s = self.frames + 1, time_s
        for face in record["faces"]:
            if face.get("track") is None:
                continue
            person = self._people.get(face["track"])
            if person is None:
                bins = _Bins(len(self.classes), self._frame_s)
                person = self._people[face["track"]] = _Person(face["track"], time_s, bins)
            scores = np.array([face["scores"].get(c, 0.0) for c in self.classes])
            self._see(person, time_s, face["label"], scores)
        if self.frames % 100 == 0:
            self._forget_short(time_s)

    def _forget_short(self, time_s: float) -> None:
        """Drop the tracks that ended too short to matter, so that flickering detections cost no memory."""
        for track, person in list(self._people.items()):
            ended = time_s - person.last_s > FORGET_AFTER_S
            if ended and person.last_s - person.first_s < self.rules.min_person_s:
                del self._people[track]
                self._forgotten += 1

    def _see(self, person: _Person, time_s: float, label: str, scores: np.ndarray) -> None:
        person.frames += 1
        person.last_s = time_s
        person.labels[label] = person.labels.get(label, 0) + 1
        person.bins.add(time_s, scores)
        stretch = person.current
        if stretch is not None and stretch.label == label:
            stretch = Stretch(label, stretch.start_s, time_s)
        else:
            stretch = Stretch(label, time_s, time_s)
        person.current = stretch
        if stretch.seconds >= self.rules.min_stretch_s and person.settled != label:
            if person.settled is not None:
                person.changes.append((stretch.start_s, person.settled, label))
                _keep_longest(person.longest, Stretch(person.settled, person.settled_since, stretch.start_s))
            person.settled, person.settled_since = label, stretch.start_s

    def summary(self) -> VideoSummary:
        """What was seen so far (`format_markdown` writes it as text, `timeline_plot` draws it)."""
        kept = [p for p in self._people.values() if p.last_s - p.first_s >= self.rules.min_person_s]
        return VideoSummary(
            frames=self.frames,
            seconds=self.last_s,
            classes=self.classes,
            rules=self.rules,
            dropped_people=self._forgotten + len(self._people) - len(kept),
            people=[_person_summary(p) for p in sorted(kept, key=lambda p: p.track)],
        )


def _keep_longest(longest: dict[str, Stretch], stretch: Stretch) -> None:
    best = longest.get(stretch.label)
    if best is None or stretch.seconds > best.seconds:
        longest[stretch.label] = stretch


def _person_summary(person: _Person) -> PersonSummary:
    longest = dict(person.longest)
    if person.settled is not None:  # the period still open at the end
        _keep_longest(longest, Stretch(person.settled, person.settled_since, person.last_s))
    return PersonSummary(
        track=person.track,
        first_s=person.first_s,
        last_s=person.last_s,
        frames=person.frames,
        shares={label: n / person.frames for label, n in sorted(person.labels.items(), key=lambda kv: -kv[1])},
        longest=dict(sorted(longest.items(), key=lambda kv: -kv[1].seconds)),
        changes=[Change(t, a, b) for t, a, b in person.changes],
        bin_s=person.bins.width_s,
        bins=person.bins.means(),
    )


def summarize(
    records: Iterable[dict[str, Any]], classes: Sequence[str], rules: SummaryRules | None = None
) -> VideoSummary:
    """The summary of a stream of frame records (see `TimelineBuilder`)."""
    builder = TimelineBuilder(classes, rules)
    for record in records:
        builder.add(record)
    return builder.summary()


def format_markdown(summary: VideoSummary) -> str:
    """The summary as Markdown: a table of shares per person, then each person's longest stretches and changes."""
    classes = [*summary.classes, "uncertain"]
    people = summary.people
    lines = [
        f"{summary.frames:,} frames, {summary.seconds:.1f} s; {len(people)} "
        f"{'person' if len(people) == 1 else 'people'} "
        f"({summary.dropped_people} seen for under {summary.rules.min_person_s:g} s dropped; a face that leaves "
        f"and returns is {RETURNING_FACE}).",
        "",
        *markdown_table(
            ("person", "seen", *classes),
            [
                (
                    f"#{person.track}",
                    f"{person.first_s:.1f}-{person.last_s:.1f} s",
                    *(f"{person.shares.get(c, 0):.0%}" for c in classes),
                )
                for person in people
            ],
        ),
    ]
    for person in people:
        longest = ", ".join(f"{label} {s.seconds:.1f} s from {s.start_s:.1f} s" for label, s in person.longest.items())
        changes = ", ".join(f"{c.from_label} → {c.to} at {c.time_s:.1f} s" for c in person.changes) or "none"
        lines += [
            "",
            f"- #{person.track}: longest {longest}.",
            f"  Changes (held {summary.rules.min_stretch_s:g} s): {changes}.",
        ]
    return "\n".join(lines)
