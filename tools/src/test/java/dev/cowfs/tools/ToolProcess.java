package dev.cowfs.tools;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The packaged tool run as a user runs it: a separate JVM with the launcher's flags, in a working directory. */
final class ToolProcess {
    static final Path ROOT = Path.of(System.getProperty("cowfs.root", "..")).toAbsolutePath().normalize();
    static final Path JAR = Path.of(System.getProperty("cowfs.jar", "target/cowfs.jar")).toAbsolutePath();
    private static final long TIMEOUT_SECONDS = 300;

    private ToolProcess() {
    }

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    /** The java command with the launcher's JVM flags, for this JVM's Java version. */
    static List<String> javaCommand(String javaHome) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(javaHome, "bin", "java").toString());
        command.add("@" + ROOT.resolve("engine/jvm.args"));
        if (Runtime.version().feature() >= 24 && javaHome.equals(System.getProperty("java.home"))) {
            command.add("@" + ROOT.resolve("engine/jvm24.args"));
        }
        return command;
    }

    static ProcessBuilder builder(Path workingDirectory, Map<String, String> environment, List<String> jvmOptions,
                                  String... args) {
        List<String> command = javaCommand(System.getProperty("java.home"));
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(JAR.toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(workingDirectory.toFile());
        builder.environment().remove("COWFS_TERMINAL_COLUMNS");
        builder.environment().putAll(environment);
        return builder;
    }

    static Result run(Path workingDirectory, String... args) {
        return run(builder(workingDirectory, Map.of(), List.of(), args));
    }

    static Result run(ProcessBuilder builder) {
        try {
            Process process = builder.start();
            process.getOutputStream().close();
            CompletableFuture<String> out = drain(process.getInputStream());
            CompletableFuture<String> err = drain(process.getErrorStream());
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("cowfs " + builder.command() + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
            return new Result(process.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static CompletableFuture<String> drain(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try (stream) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                stream.transferTo(bytes);
                return bytes.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** Fails unless the JAR exists: the end-to-end tests run after {@code package}. */
    static void requireJar() {
        if (!Files.isRegularFile(JAR)) {
            throw new AssertionError(JAR + " is missing: run the end-to-end tests with mvn verify");
        }
    }
}
