package dev.livepulse.bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * One view's state in the `view-windows` store: per open 10 s window the latest sample by view_seq
 * (players send cumulative counters, so the highest seq wins), what the view last contributed to
 * that window downstream, and one baseline sample folding every closed window.
 *
 * A view's contribution to window w mirrors stream-processors/viewer-analytics/window-rows.ts:
 * watch time is how much the cumulative watch_ms grew from before w to w's end (the latest sample
 * by seq on either side); it is a viewer of w when it was heard from in w and its latest sample as
 * of w's end is in a watching state.
 */
final class ViewHistory {
  /** The highest-seq sample of a set of events. */
  record Sample(int seq, long watchMs, boolean watching) {
    static Sample later(Sample a, Sample b) {
      if (a == null) return b;
      if (b == null) return a;
      return b.seq > a.seq ? b : a;
    }
  }

  static final class Window {
    final long start;
    Sample latest;
    int emittedViewer;
    long emittedWatchMs;

    Window(long start, Sample latest, int emittedViewer, long emittedWatchMs) {
      this.start = start;
      this.latest = latest;
      this.emittedViewer = emittedViewer;
      this.emittedWatchMs = emittedWatchMs;
    }
  }

  final String streamId;
  /** The latest sample of the closed windows; null before any window closed. */
  Sample baseline;
  /** Open windows the view was heard from in, by start. */
  final List<Window> windows;

  ViewHistory(String streamId, Sample baseline, List<Window> windows) {
    this.streamId = streamId;
    this.baseline = baseline;
    this.windows = windows;
  }

  /** Takes a sample into its window (the higher seq wins); returns the window's index. */
  int accept(long windowStart, Sample sample) {
    int i = 0;
    while (i < windows.size() && windows.get(i).start < windowStart) i++;
    if (i < windows.size() && windows.get(i).start == windowStart) {
      Window w = windows.get(i);
      w.latest = Sample.later(w.latest, sample);
    } else {
      windows.add(i, new Window(windowStart, sample, 0, 0));
    }
    return i;
  }

  /**
   * Recomputes the contributions of the windows from index `from` on (a sample changes its own
   * window and the watch time of the next) and hands each change to `emit` as
   * (window start, {viewer delta, watch_ms delta}).
   */
  void emitChanges(int from, BiConsumer<Long, Counts> emit) {
    Sample before = baseline;
    for (int i = 0; i < from; i++) before = Sample.later(before, windows.get(i).latest);
    for (int i = from; i < windows.size(); i++) {
      Window w = windows.get(i);
      Sample now = Sample.later(before, w.latest);
      long watchMs = Math.max(0, now.watchMs() - (before == null ? 0 : before.watchMs()));
      int viewer = now.watching() ? 1 : 0;
      if (viewer != w.emittedViewer || watchMs != w.emittedWatchMs) {
        emit.accept(w.start, new Counts(viewer - w.emittedViewer, watchMs - w.emittedWatchMs));
        w.emittedViewer = viewer;
        w.emittedWatchMs = watchMs;
      }
      before = now;
    }
  }

  /** Folds the windows that can take no more events (start < openFrom) into the baseline. */
  void closeBefore(long openFrom) {
    while (!windows.isEmpty() && windows.get(0).start < openFrom) baseline = Sample.later(baseline, windows.remove(0).latest);
  }

  /** A compact binary encoding for the store and its changelog. */
  static final class HistorySerde implements Serializer<ViewHistory>, Deserializer<ViewHistory> {
    private static final int SAMPLE_BYTES = 4 + 8 + 1;

    @Override
    public byte[] serialize(String topic, ViewHistory h) {
      if (h == null) return null;
      byte[] stream = h.streamId.getBytes(StandardCharsets.UTF_8);
      ByteBuffer b = ByteBuffer.allocate(2 + stream.length + 1 + SAMPLE_BYTES + 2 + h.windows.size() * (8 + SAMPLE_BYTES + 1 + 8));
      b.putShort((short) stream.length).put(stream);
      b.put((byte) (h.baseline == null ? 0 : 1));
      putSample(b, h.baseline == null ? new Sample(0, 0, false) : h.baseline);
      b.putShort((short) h.windows.size());
      for (Window w : h.windows) {
        b.putLong(w.start);
        putSample(b, w.latest);
        b.put((byte) w.emittedViewer).putLong(w.emittedWatchMs);
      }
      return b.array();
    }

    @Override
    public ViewHistory deserialize(String topic, byte[] bytes) {
      if (bytes == null) return null;
      ByteBuffer b = ByteBuffer.wrap(bytes);
      byte[] stream = new byte[b.getShort()];
      b.get(stream);
      boolean hasBaseline = b.get() == 1;
      Sample baseline = getSample(b);
      int n = b.getShort();
      List<Window> windows = new ArrayList<>(n + 1);
      for (int i = 0; i < n; i++) windows.add(new Window(b.getLong(), getSample(b), b.get(), b.getLong()));
      return new ViewHistory(new String(stream, StandardCharsets.UTF_8), hasBaseline ? baseline : null, windows);
    }

    private static void putSample(ByteBuffer b, Sample s) {
      b.putInt(s.seq()).putLong(s.watchMs()).put((byte) (s.watching() ? 1 : 0));
    }

    private static Sample getSample(ByteBuffer b) {
      return new Sample(b.getInt(), b.getLong(), b.get() == 1);
    }

    // Both interfaces default these; a class implementing both must pick.
    @Override
    public void configure(java.util.Map<String, ?> configs, boolean isKey) {}

    @Override
    public void close() {}

    static Serde<ViewHistory> serde() {
      HistorySerde s = new HistorySerde();
      return Serdes.serdeFrom(s, s);
    }
  }

  /** Viewers and watch time of a (stream, window): a delta on the repartition topic, a total in the store. */
  record Counts(long viewers, long watchMs) {
    Counts plus(Counts o) {
      return new Counts(viewers + o.viewers, watchMs + o.watchMs);
    }

    static Serde<Counts> serde() {
      Serializer<Counts> ser = (topic, c) -> c == null ? null : ByteBuffer.allocate(16).putLong(c.viewers).putLong(c.watchMs).array();
      Deserializer<Counts> de = (topic, bytes) -> {
        if (bytes == null) return null;
        ByteBuffer b = ByteBuffer.wrap(bytes);
        return new Counts(b.getLong(), b.getLong());
      };
      return Serdes.serdeFrom(ser, de);
    }
  }
}
