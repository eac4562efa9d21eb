package dev.cowfs.crash;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.fs.CowFileSystem;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Real processes, real files, SIGKILL: a child JVM ({@link KillChild}) applies a random workload to an image
 * file and prints each commit it has been told is durable; this process kills it at a random moment, reopens
 * the file and judges it: the generation is at least the last one the child printed, the state is exactly
 * the model's for that generation (the same workload run here on the simulated device, which the
 * deterministic engine makes commit for commit alike), and both checkers are clean. Each round goes on from
 * the image the last one left.
 */
public final class KillHarness {
    private final CrashHarness harness;
    private final Path image;
    private final Random random;
    /** Set when the child ended on its own with an error (not by the kill): what it printed on stderr. */
    private String childFailure;

    public KillHarness(CrashHarness harness, Path directory, long seed) throws IOException {
        this.harness = harness;
        this.image = directory.resolve("kill.img");
        this.random = new Random(seed);
        writeImage(harness.base, image);
    }

    /**
     * Runs {@code rounds} kill rounds of workloads of {@code length} operations, killing each child after a
     * random time up to {@code maxMillis}. Violations go to the harness's report; returns them too.
     */
    public List<CrashReport.Violation> run(int rounds, int length, int maxMillis) throws IOException {
        List<CrashReport.Violation> found = new ArrayList<>();
        FsModel model = harness.startModel();
        for (int round = 0; round < rounds; round++) {
            long seed = random.nextLong();
            AceWorkloads.Workload workload = AceWorkloads.random(seed, length, model);
            AceWorkloads.Workload named = new AceWorkloads.Workload("kill round " + round + ", " + workload.name(),
                    workload.ops());
            Expected expected = expect(workload, model);
            long acknowledged = runAndKill(workload, maxMillis);
            if (childFailure != null) {
                found.add(harness.violation(named, "(child process)", childFailure));
                break;
            }
            FsModel recovered = judge(named, expected, acknowledged, found);
            if (recovered == null) {
                break; // the image is not a known state: later rounds would judge against the wrong model
            }
            model = recovered;
            harness.report().kills++;
        }
        found.forEach(harness.report()::violation);
        return found;
    }

    /** The model's state and dump at every generation the workload commits, from this image. */
    /** By generation, the states a recovery may hold there: models and their dumps, alike in order. */
    private record Expected(Map<Long, List<FsModel>> models, Map<Long, List<Map<String, String>>> dumps) {
    }

    private Expected expect(AceWorkloads.Workload workload, FsModel start) throws IOException {
        Map<Long, List<FsModel>> models = new HashMap<>();
        Map<Long, List<Map<String, String>>> dumps = new HashMap<>();
        FsModel model = start.copy();
        try (CowFileSystem fs = CowFileSystem.open(SimulatedDevice.ofImage(readImage(image)),
                harness.options(false))) {
            long generation = fs.store().generation();
            Map<String, String> current = model.dump();
            FsModel currentModel = model.copy();
            models.put(generation, List.of(currentModel));
            dumps.put(generation, List.of(current));
            for (CrashOp op : workload.ops()) {
                OpRunner.apply(fs, op);
                model.apply(op);
                long now = fs.store().generation();
                if (now != generation) {
                    Map<String, String> after = model.dump();
                    FsModel afterModel = model.copy();
                    for (long between = generation + 1; between < now; between++) {
                        dumps.put(between, List.of(current, after)); // inside one operation: before or after it
                        models.put(between, List.of(currentModel, afterModel));
                    }
                    models.put(now, List.of(afterModel));
                    dumps.put(now, List.of(after));
                    generation = now;
                    current = after;
                    currentModel = afterModel;
                } else {
                    current = model.dump();
                    currentModel = model.copy();
                }
            }
        }
        return new Expected(models, dumps);
    }

    /** Runs the child and kills it (SIGKILL) after a random time; returns the last generation it printed. */
    private long runAndKill(AceWorkloads.Workload workload, int maxMillis) throws IOException {
        Path operations = image.resolveSibling("kill.ops");
        List<String> lines = new ArrayList<>();
        workload.ops().forEach(op -> lines.add(op.toString()));
        Files.write(operations, lines);
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String argument : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (argument.startsWith("--add-") || argument.startsWith("--enable-native-access")
                    || argument.startsWith("--sun-misc") || argument.startsWith("-Dchronicle")) {
                command.add(argument);
            }
        }
        command.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), KillChild.class.getName(),
                image.toString(), operations.toString(), harness.config().bug().name()));
        Path errors = image.resolveSibling("kill.err");
        Process child = new ProcessBuilder(command).redirectError(errors.toFile()).start();
        List<String> printed = Collections.synchronizedList(new ArrayList<>());
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    printed.add(line);
                }
            } catch (IOException e) {
                // the child was killed mid-line: what it printed before counts
            }
        });
        reader.start();
        try {
            long opened = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (printed.isEmpty() && child.isAlive() && System.nanoTime() < opened) {
                Thread.sleep(5); // the kill clock starts once the child has the image open
            }
            boolean endedAlone = child.waitFor(random.nextInt(Math.max(1, maxMillis)), TimeUnit.MILLISECONDS);
            child.destroyForcibly();
            child.waitFor(60, TimeUnit.SECONDS);
            reader.join(10_000);
            childFailure = endedAlone && child.exitValue() != 0 ? "the child ended with status " + child.exitValue()
                    + " before it was killed: " + Files.readString(errors).strip() : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            child.destroyForcibly();
            throw new IOException("interrupted while the child ran", e);
        }
        long acknowledged = 0;
        synchronized (printed) {
            for (String line : printed) {
                if (line.startsWith("acked ")) {
                    acknowledged = Long.parseLong(line.substring(6).trim());
                }
            }
        }
        harness.report().killedAcknowledged += acknowledged > 0 ? 1 : 0;
        return acknowledged;
    }

    /** Reopens the killed child's image and judges it; returns the model it holds, or null when wrong. */
    private FsModel judge(AceWorkloads.Workload workload, Expected expected, long acknowledged,
                          List<CrashReport.Violation> found) {
        try (CowFileSystem fs = CowFileSystem.open(image, harness.options(false))) {
            long generation = fs.store().generation();
            String problem = null;
            FsModel model = null;
            if (generation < acknowledged) {
                problem = "reopened at generation " + generation + ", but " + acknowledged + " was acknowledged";
            } else {
                Map<String, String> dump = FsDump.of(fs);
                List<Map<String, String>> wanted = expected.dumps().get(generation);
                int match = wanted == null ? -1 : wanted.indexOf(dump);
                if (match >= 0) {
                    model = expected.models().get(generation).get(match);
                }
                if (model == null) {
                    problem = "reopened state (generation " + generation + ") is not the model's: "
                            + (wanted == null ? "no model state" : FsDump.differences(wanted.get(0), dump, 3));
                } else {
                    String checked = CrashHarness.check(fs);
                    problem = checked.isEmpty() ? null : checked;
                }
            }
            if (problem != null) {
                found.add(harness.violation(workload, "(killed after acknowledged generation " + acknowledged + ")",
                        problem));
                return null;
            }
            return model;
        } catch (IOException | RuntimeException | EngineBugError e) {
            found.add(harness.violation(workload, "(killed after acknowledged generation " + acknowledged + ")",
                    "reopening failed: " + CrashHarness.describe(e)));
            return null;
        }
    }

    static void writeImage(SimulatedDevice.Image source, Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (Map.Entry<Long, byte[]> page : source.pages().entrySet()) {
                channel.write(ByteBuffer.wrap(page.getValue()), page.getKey() * SimulatedDevice.PAGE_BYTES);
            }
        }
        try (RandomAccessFile sized = new RandomAccessFile(file.toFile(), "rw")) {
            sized.setLength(Math.max(sized.length(), source.lengthBytes()));
        }
    }

    static SimulatedDevice.Image readImage(Path file) throws IOException {
        Map<Long, byte[]> pages = new HashMap<>();
        long length;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            length = channel.size();
            ByteBuffer buffer = ByteBuffer.allocate(SimulatedDevice.PAGE_BYTES);
            for (long page = 0; page * SimulatedDevice.PAGE_BYTES < length; page++) {
                buffer.clear();
                java.util.Arrays.fill(buffer.array(), (byte) 0); // a short last page reads as zeros past the end
                while (buffer.hasRemaining() && channel.read(buffer, page * SimulatedDevice.PAGE_BYTES
                        + buffer.position()) > 0) {
                    // read the whole page
                }
                byte[] bytes = buffer.array();
                boolean zero = true;
                for (byte b : bytes) {
                    if (b != 0) {
                        zero = false;
                        break;
                    }
                }
                if (!zero) {
                    pages.put(page, bytes.clone());
                }
            }
        }
        return new SimulatedDevice.Image(Collections.unmodifiableMap(pages), length);
    }
}
