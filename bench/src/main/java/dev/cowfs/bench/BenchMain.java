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
        // Repetition by repetition, every implementation once in each (A-B-C, A-B-C, ...): a drift of the machine
        // during the run falls on all of them alike, and each repetition is a fork of its own.
        int repetitions = quick ? 1 : FULL_REPETITIONS;
        List<java.lang.reflect.Method> methods = new ArrayList<>();
        for (java.lang.reflect.Method method : benchmarks.getMethods()) {
            if (method.isAnnotationPresent(org.openjdk.jmh.annotations.Benchmark.class)
                    && (onlyBench == null || method.getName().equals(onlyBench))) {
                methods.add(method);
            }
        }
        methods.sort(java.util.Comparator.comparing(java.lang.reflect.Method::getName));
        for (java.lang.reflect.Method method : methods) {
            List<String> impls = implementations(method);
            if (method.getName().equals("pointReadBySize")) {
                runBySize(benchmarks, suite, method.getName(), impls, quick, repetitions);
                continue;
            }
            for (int rep = 0; rep < repetitions; rep++) {
                for (String impl : impls) {
                    for (RunResult result : run(benchmarks, method.getName(), impl, quick)) {
                        System.out.println(jsonLine(suite, result, quick, rep));
                        System.out.flush();
                    }
                }
            }
        }
    }

    /**
     * Size by size, implementation by implementation: the dataset (up to 4 GiB on tmpfs) is loaded once for the
     * repetitions (forks) of one implementation and deleted before the next one's is loaded.
     */
    private static void runBySize(Class<?> benchmarks, String suite, String bench, List<String> impls, boolean quick,
                                  int repetitions) throws RunnerException, java.io.IOException {
        List<String> sizes = quick ? List.of("64", "256")
                : List.of(parameter(EngineBenchmarks.Sized.class, "datasetMiB"));
        for (String size : sizes) { // a dataset a killed run left is not to be taken for this run's
            for (String impl : impls) {
                Dataset.delete(EngineBenchmarks.Sized.directory(impl, Integer.parseInt(size)));
            }
        }
        for (String size : sizes) {
            for (String impl : impls) {
                try {
                    for (int rep = 0; rep < repetitions; rep++) {
                        for (RunResult result : run(benchmarks, bench, impl, quick, "datasetMiB", size)) {
                            System.out.println(jsonLine(suite, result, quick, rep));
                            System.out.flush();
                        }
                    }
                } finally {
                    Dataset.delete(EngineBenchmarks.Sized.directory(impl, Integer.parseInt(size)));
                }
            }
        }
    }

    /** Benchmarks that are points of a scaling curve, measured at several sizes. */
    private static final java.util.Set<String> CURVES = java.util.Set.of("pointReadBySize", "commitDirty");

    /** Forks (one repetition each) of every implementation in a full run. */
    private static final int FULL_REPETITIONS = 3;

    /** The values a state's {@code @Param} field declares. */
    static String[] parameter(Class<?> state, String field) {
        try {
            return state.getField(field).getAnnotation(org.openjdk.jmh.annotations.Param.class).value();
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(state + " has no parameter " + field, e);
        }
    }

    /** The values of the {@code impl} parameter of the state a benchmark method takes. */
    static List<String> implementations(java.lang.reflect.Method method) {
        for (Class<?> type : method.getParameterTypes()) {
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                try {
                    java.lang.reflect.Field field = c.getDeclaredField("impl");
                    var param = field.getAnnotation(org.openjdk.jmh.annotations.Param.class);
                    if (param != null) {
                        return List.of(param.value());
                    }
                } catch (NoSuchFieldException e) {
                    // look in the superclass
                }
            }
        }
        throw new IllegalStateException("benchmark " + method.getName() + " takes no state with an impl parameter");
    }

    private static Collection<RunResult> run(Class<?> benchmarks, String method, String impl, boolean quick,
                                             String... params) throws RunnerException {
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
                .include(benchmarks.getName() + "\\." + method + "$")
                .param("impl", impl)
                .forks(1)
                .jvmArgs(jvmArgs.toArray(String[]::new))
                .shouldFailOnError(true);
        if (CURVES.contains(method)) { // a point of a curve: shorter, there are many of them
            options.warmupIterations(1).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(quick ? 2 : 3).measurementTime(TimeValue.seconds(1));
        } else {
            options.warmupIterations(1).warmupTime(TimeValue.seconds(quick ? 1 : 2))
                    .measurementIterations(quick ? 2 : 3).measurementTime(TimeValue.seconds(quick ? 1 : 2));
        }
        if (quick) {
            options.param("keys", "100000").param("pageValueKeys", "10000").param("fileMiB", "128")
                    .param("files", "10000").param("storeKeys", "10000", "100000")
                    .param("commitStoreKeys", "10000").param("dirtyKeys", "1", "100", "1000");
        }
        for (int i = 0; i + 1 < params.length; i += 2) {
            options.param(params[i], params[i + 1]);
        }
        return new Runner(options.build(), OutputFormatFactory.createFormatInstance(System.err, VerboseMode.NORMAL))
                .run();
    }

    static String jsonLine(String suite, RunResult result, boolean quick, int rep) {
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
            case "coldScan" -> opsPerSecond = Integer.parseInt(result.getParams().getParam("keys")) / (score / 1000.0);
            case "durableCommit", "commitDirty", "fsyncOne" -> {
                opsPerSecond = 1e6 / score;
                var statistics = primary.getStatistics();
                latency = String.format(Locale.ROOT, ",\"p50_us\":%.1f,\"p99_us\":%.1f",
                        statistics.getPercentile(50), statistics.getPercentile(99));
            }
            default -> opsPerSecond = score;
        }
        // The dataset's size, as the benchmark's numeric parameters say it (keys, files, fileMiB, ...).
        StringBuilder dataset = new StringBuilder();
        for (String key : new java.util.TreeSet<>(result.getParams().getParamsKeys())) {
            String value = result.getParams().getParam(key);
            if (!key.equals("impl") && value != null && value.matches("\\d+")) {
                dataset.append(",\"").append(key).append("\":").append(value);
            }
        }
        return String.format(Locale.ROOT, "{\"suite\":\"%s\",\"bench\":\"%s\",\"impl\":\"%s\",\"ops_per_s\":%.1f%s%s,"
                        + "\"rep\":%d%s}", suite, bench, impl, opsPerSecond, latency, dataset, rep,
                quick ? ",\"quick\":true" : "");
    }
}
