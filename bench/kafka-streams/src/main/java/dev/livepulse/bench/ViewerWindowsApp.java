package dev.livepulse.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams baseline of bench:processors: per-stream viewers and watch time per 10 s
 * event-time window from the collector's JSON events on player.events, exactly once.
 *
 * <p>Topology: player.events (key view_id) → ViewWindows (per view, store `view-windows`, no
 * repartition: the input is keyed by view) → deltas keyed `stream_id|window_start` → repartition →
 * sum (store `stream-window-totals`) → output topic as JSON. Both stores are changelog-backed;
 * RocksDB unless `--in-memory-stores`.
 *
 * <p>Usage: ViewerWindowsApp --bootstrap H:P --input T --output T --application-id ID --state-dir
 * DIR [--threads N] [--window-ms 10000] [--grace-ms 30000] [--in-memory-stores]
 *
 * <p>Prints `running` once the group is assigned and `first-record` when the first event is
 * processed, so the bench times it from its first record as it does the processor.
 */
public final class ViewerWindowsApp {
  static final String VIEW_STORE = "view-windows";
  static final String WATERMARK_STORE = "watermarks";
  static final String TOTALS_STORE = "stream-window-totals";
  private static final Set<String> WATCHING_STATES = Set.of("starting", "waiting", "playing", "seeking", "rebuffering", "fatal_error");
  private static final AtomicBoolean firstRecordSeen = new AtomicBoolean();

  private ViewerWindowsApp() {}

  /** The fields of a player event the topology reads. */
  record Event(String streamId, int seq, long eventTime, long receivedAt, long watchMs, boolean watching) {}

  static Event parse(byte[] json) throws IOException {
    String streamId = null;
    String state = null;
    String event = null;
    int seq = -1;
    long eventTime = Long.MIN_VALUE;
    long receivedAt = Long.MIN_VALUE;
    long watchMs = -1;
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("a player event is a JSON object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken token = p.nextToken();
        switch (field) {
          case "stream_id" -> streamId = p.getText();
          case "player_state" -> state = p.getText();
          case "event" -> event = p.getText();
          case "view_seq" -> seq = p.getIntValue();
          case "event_time" -> eventTime = p.getLongValue();
          case "received_at" -> receivedAt = p.getLongValue();
          case "counters" -> {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String counter = p.currentName();
              p.nextToken();
              if (counter.equals("watch_ms")) watchMs = p.getLongValue();
              else p.skipChildren();
            }
          }
          default -> {
            if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) p.skipChildren();
          }
        }
      }
    }
    if (streamId == null || state == null || event == null || seq < 0 || eventTime == Long.MIN_VALUE || receivedAt == Long.MIN_VALUE || watchMs < 0) {
      throw new IOException("a player event needs stream_id, player_state, event, view_seq, event_time, received_at and counters.watch_ms");
    }
    return new Event(streamId, seq, eventTime, receivedAt, watchMs, !event.equals("viewend") && WATCHING_STATES.contains(state));
  }

  private static final JsonFactory JSON = new JsonFactory();

  /**
   * Per view: the latest sample per window, and the change of the view's contribution to each
   * window it touches, forwarded keyed by stream and window. The watermark is the partition's
   * highest received_at, as the processor's; events more than the grace behind it are dropped as late.
   */
  static final class ViewWindows implements Processor<String, byte[], String, ViewHistory.Counts> {
    private final long windowMs;
    private final long graceMs;
    private ProcessorContext<String, ViewHistory.Counts> context;
    private KeyValueStore<String, ViewHistory> views;
    private KeyValueStore<String, Long> watermarks;
    private String partitionKey;
    private long watermark = Long.MIN_VALUE;

    ViewWindows(long windowMs, long graceMs) {
      this.windowMs = windowMs;
      this.graceMs = graceMs;
    }

    @Override
    public void init(ProcessorContext<String, ViewHistory.Counts> context) {
      this.context = context;
      this.views = context.getStateStore(VIEW_STORE);
      this.watermarks = context.getStateStore(WATERMARK_STORE);
      this.partitionKey = context.taskId().toString();
      Long stored = watermarks.get(partitionKey);
      if (stored != null) watermark = stored;
    }

    @Override
    public void process(Record<String, byte[]> record) {
      if (firstRecordSeen.compareAndSet(false, true)) {
        System.out.println("first-record");
        System.out.flush();
      }
      Event e;
      try {
        e = parse(record.value());
      } catch (IOException error) {
        throw new IllegalArgumentException("player.events record with key " + record.key() + " is not a player event: " + error.getMessage(), error);
      }
      if (e.receivedAt() > watermark) {
        watermark = e.receivedAt();
        watermarks.put(partitionKey, watermark);
      }
      if (e.eventTime() < watermark - graceMs) return;
      long windowStart = Math.floorDiv(e.eventTime(), windowMs) * windowMs;
      ViewHistory history = views.get(record.key());
      if (history == null) history = new ViewHistory(e.streamId(), null, new ArrayList<>(2));
      int changed = history.accept(windowStart, new ViewHistory.Sample(e.seq(), e.watchMs(), e.watching()));
      String streamId = history.streamId;
      history.emitChanges(changed, (start, delta) -> context.forward(new Record<>(streamId + "|" + start, delta, record.timestamp())));
      // A window takes events until the watermark passes its end by the grace.
      history.closeBefore(watermark - graceMs - windowMs + 1);
      views.put(record.key(), history);
    }
  }

  static Topology topology(String input, String output, long windowMs, long graceMs, boolean inMemoryStores) {
    StreamsBuilder builder = new StreamsBuilder();
    StoreBuilder<KeyValueStore<String, ViewHistory>> viewStore = Stores.keyValueStoreBuilder(store(VIEW_STORE, inMemoryStores), Serdes.String(), ViewHistory.HistorySerde.serde()).withCachingEnabled();
    StoreBuilder<KeyValueStore<String, Long>> watermarkStore = Stores.keyValueStoreBuilder(store(WATERMARK_STORE, inMemoryStores), Serdes.String(), Serdes.Long()).withCachingEnabled();
    builder.addStateStore(viewStore);
    builder.addStateStore(watermarkStore);
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .process(() -> new ViewWindows(windowMs, graceMs), VIEW_STORE, WATERMARK_STORE)
        .groupByKey(Grouped.with("stream-windows", Serdes.String(), ViewHistory.Counts.serde()))
        .reduce(ViewHistory.Counts::plus, Materialized.<String, ViewHistory.Counts>as(store(TOTALS_STORE, inMemoryStores)).withKeySerde(Serdes.String()).withValueSerde(ViewHistory.Counts.serde()))
        .toStream()
        .mapValues((key, totals) -> {
          int bar = key.lastIndexOf('|');
          return "{\"stream_id\":\"" + key.substring(0, bar) + "\",\"window_start\":" + key.substring(bar + 1) + ",\"viewers\":" + totals.viewers() + ",\"watch_ms\":" + totals.watchMs() + "}";
        })
        .to(output, Produced.with(Serdes.String(), Serdes.String()));
    return builder.build();
  }

  private static KeyValueBytesStoreSupplier store(String name, boolean inMemory) {
    return inMemory ? Stores.inMemoryKeyValueStore(name) : Stores.persistentKeyValueStore(name);
  }

  public static void main(String[] args) throws InterruptedException {
    Map<String, String> options = new java.util.HashMap<>();
    boolean inMemoryStores = false;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--in-memory-stores")) inMemoryStores = true;
      else if (args[i].startsWith("--") && i + 1 < args.length) options.put(args[i].substring(2), args[++i]);
      else throw new IllegalArgumentException("unknown argument " + args[i]);
    }
    for (String required : new String[] {"bootstrap", "input", "output", "application-id", "state-dir"}) {
      if (!options.containsKey(required)) throw new IllegalArgumentException("--" + required + " is required");
    }
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, options.get("application-id"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, options.get("bootstrap"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, options.get("state-dir"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(options.getOrDefault("threads", "2")));
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    long windowMs = Long.parseLong(options.getOrDefault("window-ms", "10000"));
    long graceMs = Long.parseLong(options.getOrDefault("grace-ms", "30000"));
    Topology topology = topology(options.get("input"), options.get("output"), windowMs, graceMs, inMemoryStores);
    KafkaStreams streams = new KafkaStreams(topology, props);
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setStateListener((next, previous) -> {
      if (next == KafkaStreams.State.RUNNING) System.out.println("running");
      if (next == KafkaStreams.State.ERROR || next == KafkaStreams.State.NOT_RUNNING) stopped.countDown();
      System.out.flush();
    });
    streams.setUncaughtExceptionHandler(error -> {
      System.err.println("kafka streams failed: " + error);
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(java.time.Duration.ofSeconds(30));
      stopped.countDown();
    }));
    streams.start();
    stopped.await();
    streams.close(java.time.Duration.ofSeconds(30));
    System.exit(streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
  }
}
