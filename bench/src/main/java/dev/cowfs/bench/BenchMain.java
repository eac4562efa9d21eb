package dev.cowfs.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Runs a benchmark suite and prints one JSON object per line on standard output:
 * {@code {"suite":"engine","bench":"pointRead","impl":"cowfs","ops_per_s":N}} (plus p50_us and p99_us for latency
 * benches). JMH's own progress goes to standard error.
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws RunnerException, java.io.IOException {
        if (args.length < 1) {
            System.err.println("usage: bench/run SUITE [--quick] [--only BENCH]   (suites: engine, fs, snap, send)");
            System.exit(2);
        }
        String suite = args[0];
        boolean quick = List.of(args).contains("--quick");
        int only = List.of(args).indexOf("--only");
        String onlyBench = only >= 0 && only + 1 < args.length ? args[only + 1] : null;
        if (suite.equals("snap")) {
            SnapBench.run(quick);
            return;
        }
        if (suite.equals("send")) {
            try {
                SendBench.run(quick);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                throw new java.io.IOException("send suite failed: " + e, e);
            }
            return;
        }
        Class<?> benchmarks = switch (suite) {
            case "engine" -> EngineBenchmarks.class;
            case "fs" -> FsBenchmarks.class;
            default -> null;
        };
        if (benchmarks == null) {
            System.err.println("bench: unknown suite '" + suite + "' (known: engine, fs, snap, send)");
            System.exit(2);
        }
        Collection<RunResult> results = run(benchmarks, quick, onlyBench);
        for (RunResult result : results) {
            System.out.println(jsonLine(suite, result, quick));
        }
    }

    private static Collection<RunResult> run(Class<?> benchmarks, boolean quick, String onlyBench)
            throws RunnerException {
        List<String> jvmArgs = new ArrayList<>();
        String argfile = System.getProperty("cowfs.jvm.argfile");
        if (argfile != null) {
            jvmArgs.add("@" + argfile);
        }
        String extra = System.getProperty("cowfs.jvm.args.extra", "").trim();
        if (!extra.isEmpty()) {
            jvmArgs.addAll(List.of(extra.split("\\s+")));
        }
        jvmArgs.add("-Xmx6g");
        for (String property : List.of("cowfs.bench.memdir", "cowfs.bench.diskdir")) {
            if (System.getProperty(property) != null) {
                jvmArgs.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(benchmarks.getName() + "\\." + (onlyBench != null ? onlyBench + "$" : ""))
                .forks(1)
                .jvmArgs(jvmArgs.toArray(String[]::new))
                .warmupIterations(quick ? 1 : 2)
                .warmupTime(TimeValue.seconds(quick ? 1 : 2))
                .measurementIterations(quick ? 2 : 4)
                .measurementTime(TimeValue.seconds(quick ? 1 : 3))
                .shouldFailOnError(true);
        if (quick) {
            options.param("keys", "100000").param("pageValueKeys", "10000").param("fileMiB", "128")
                    .param("files", "10000");
        }
        return new Runner(options.build(), OutputFormatFactory.createFormatInstance(System.err, VerboseMode.NORMAL))
                .run();
    }

    static String jsonLine(String suite, RunResult result, boolean quick) {
        String bench = result.getParams().getBenchmark();
        bench = bench.substring(bench.lastIndexOf('.') + 1);
        String impl = result.getParams().getParam("impl");
        var primary = result.getPrimaryResult();
        double score = primary.getScore();
        double opsPerSecond;
        String latency = "";
        switch (bench) {
            case "createFiles" -> opsPerSecond = Integer.parseInt(result.getParams().getParam("files")) / (score / 1000.0);
            case "bulkInsert" -> opsPerSecond = Integer.parseInt(result.getParams().getParam("keys")) / (score / 1000.0);
            case "scan" -> opsPerSecond = score * Integer.parseInt(result.getParams().getParam("keys"));
            case "durableCommit" -> {
                opsPerSecond = 1e6 / score;
                var statistics = primary.getStatistics();
                latency = String.format(Locale.ROOT, ",\"p50_us\":%.1f,\"p99_us\":%.1f",
                        statistics.getPercentile(50), statistics.getPercentile(99));
            }
            default -> opsPerSecond = score;
        }
        return String.format(Locale.ROOT, "{\"suite\":\"%s\",\"bench\":\"%s\",\"impl\":\"%s\",\"ops_per_s\":%.1f%s%s}",
                suite, bench, impl, opsPerSecond, latency, quick ? ",\"quick\":true" : "");
    }
}
