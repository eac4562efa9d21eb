package dev.cowfs.engine.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Starts a child JVM with the test classpath and the project's JVM argfile (the one every launch uses). */
public final class ChildJvm {
    private ChildJvm() {
    }

    public record Result(int exitCode, String output) {
    }

    public static Process start(List<String> jvmOptions, Class<?> main, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String argfile = System.getProperty("cowfs.jvm.argfile");
        if (argfile == null) {
            throw new IllegalStateException("system property cowfs.jvm.argfile is not set (run through Maven)");
        }
        command.add("@" + argfile);
        String extra = System.getProperty("cowfs.jvm.args.extra", "").trim();
        if (!extra.isEmpty()) {
            command.addAll(Arrays.asList(extra.split("\\s+")));
        }
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(Arrays.asList(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    public static Result run(List<String> jvmOptions, long timeoutSeconds, Class<?> main, String... args)
            throws IOException, InterruptedException {
        Process process = start(jvmOptions, main, args);
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("child JVM " + main.getSimpleName() + " timed out");
        }
        return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    }
}
