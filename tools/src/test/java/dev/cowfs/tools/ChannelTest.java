package dev.cowfs.tools;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The control channel in one process: a holder answering concurrent callers, bytes exact, bad callers refused. */
class ChannelTest {
    @TempDir
    Path dir;
    private Path image;
    private CowFileSystem fs;
    private ChannelServer server;
    private CompletableFuture<Void> serving;
    private final StringWriter log = new StringWriter();

    @BeforeEach
    void serve() throws IOException {
        image = dir.resolve("data.img");
        CowFileSystem.create(image, FsOptions.builder().commitIntervalMillis(0).build()).close();
        fs = CowFileSystem.open(image, FsOptions.builder().commitIntervalMillis(1000).build());
        server = new ChannelServer(image, fs, new PrintWriter(log, true));
        server.bind();
        serving = CompletableFuture.runAsync(() -> {
            try {
                server.run();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        serving.get(30, TimeUnit.SECONDS);
        fs.close();
    }

    /**
     * The launcher's shortcut sends a command straight to the channel only when its image is held (a socket beside
     * it) and the command is one that opens an image; anything else, and help, goes to the full tool.
     */
    @Test
    void theLauncherTakesTheShortcutOnlyForImageCommandsOnAHeldImage() {
        String held = image.toString();
        assertEquals(server.socket(), Launcher.heldImageSocket(new String[] {"ls", held, "/"}));
        assertEquals(server.socket(), Launcher.heldImageSocket(new String[] {"snapshot", "create", held, "default",
                "s"}));
        assertEquals(server.socket(), Launcher.heldImageSocket(new String[] {"ls", "-l", held, "/"}));
        assertEquals(null, Launcher.heldImageSocket(new String[] {"ls", held, "--help"}));
        assertEquals(null, Launcher.heldImageSocket(new String[] {"mount", held, dir.toString()}));
        assertEquals(null, Launcher.heldImageSocket(new String[] {"mkfs", held}));
        assertEquals(null, Launcher.heldImageSocket(new String[] {"ls", dir.resolve("other.img").toString(), "/"}));
        assertEquals(null, Launcher.heldImageSocket(new String[] {"ls", "--generation", "3", held, "/"}),
                "an option's value taken for the image: no socket there, the full tool decides");
    }

    record Result(int code, byte[] out, String err) {
    }

    private Result call(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ChannelClient.run(server.socket(), List.of(args), dir, 0, false, false, false,
                java.io.InputStream.nullInputStream(), out, err);
        return new Result(code, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void fsckThroughTheChannelChecksAPinnedCommitWhileWritersCommit() throws Exception {
        byte[] content = new byte[3 << 20];
        new java.util.Random(5).nextBytes(content);
        Files.write(dir.resolve("host.bin"), content);
        AtomicBoolean writing = new AtomicBoolean(true);
        CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
            try {
                for (int i = 0; i < 40; i++) {
                    Result put = call("put", image.toString(), "host.bin", "/file" + i);
                    assertEquals(0, put.code(), put.err());
                    if (i % 3 == 0) {
                        assertEquals(0, call("rm", image.toString(), "/file" + (i / 2)).code());
                    }
                }
                return 40;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                writing.set(false);
            }
        });
        int checks = 0;
        List<Long> seen = new ArrayList<>();
        while (writing.get() || checks == 0) {
            Result fsck = call("fsck", image.toString(), "--json");
            String json = new String(fsck.out(), StandardCharsets.UTF_8);
            assertEquals(0, fsck.code(), json + fsck.err());
            Map<String, Object> report = Json.object(json);
            assertEquals(Boolean.TRUE, report.get("clean"), json);
            seen.add((Long) report.get("generation"));
            checks++;
        }
        assertEquals(40, writer.get(2, TimeUnit.MINUTES));
        long generations = seen.stream().distinct().count();
        assertTrue(checks >= 2 && generations >= 2, "checks " + checks + " over generations " + seen);
        assertArrayEquals(content, call("cat", image.toString(), "/file39").out());
    }

    @Test
    void compactionThroughTheChannelCutsTheHeldImageWhileWritersWait() throws Exception {
        byte[] content = new byte[5 << 20];
        new java.util.Random(6).nextBytes(content);
        Files.write(dir.resolve("host.bin"), content);
        for (int i = 0; i < 30; i++) { // 150 MiB, then most of it deleted: what stays lies spread up to the tail
            assertEquals(0, call("put", image.toString(), "host.bin", "/file" + i).code());
        }
        for (int i = 0; i < 29; i++) {
            assertEquals(0, call("rm", image.toString(), "/file" + i).code());
        }
        long before = Files.size(image);
        CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
            try {
                for (int i = 0; i < 4; i++) {
                    Result put = call("put", image.toString(), "host.bin", "/during" + i);
                    assertEquals(0, put.code(), put.err());
                }
                return 4;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Result compacted = call("compact", image.toString(), "--json");
        String json = new String(compacted.out(), StandardCharsets.UTF_8);
        assertEquals(0, compacted.code(), json + compacted.err());
        Map<String, Object> report = Json.object(json);
        assertEquals(before, report.get("bytes_before"), json);
        assertTrue((Long) report.get("bytes_after") < before, json);
        assertEquals(4, writer.get(2, TimeUnit.MINUTES));
        assertArrayEquals(content, call("cat", image.toString(), "/file29").out());
        assertArrayEquals(content, call("cat", image.toString(), "/during3").out());
        Result fsck = call("fsck", image.toString());
        assertEquals(0, fsck.code(), new String(fsck.out(), StandardCharsets.UTF_8) + fsck.err());
    }

    @Test
    void binaryOutputCrossesTheChannelByteForByte() throws Exception {
        byte[] every = new byte[300_000];
        for (int i = 0; i < every.length; i++) {
            every[i] = (byte) (i * 31 + (i >> 8));
        }
        Files.write(dir.resolve("bytes.bin"), every);
        assertEquals(0, call("put", image.toString(), "bytes.bin", "/bytes.bin").code());
        assertArrayEquals(every, call("cat", image.toString(), "/bytes.bin").out());
        Result missing = call("cat", image.toString(), "/nothing");
        assertEquals(Cowfs.ExitCode.NOT_FOUND.code, missing.code());
        assertEquals("cowfs: cat: /nothing (ENOENT: no such file or directory)\n", missing.err());
    }

    @Test
    void aCallerSendingGarbageIsDroppedAndOthersAreStillAnswered() throws Exception {
        for (byte[] garbage : List.of(new byte[] {'R', 0x7f, -1, -1, -1}, new byte[] {'Q', 0, 0, 0, 1, 0},
                new byte[] {'R', 0, 0, 0, 8, 0, 0, 0, 1, 0x7f, -1, -1, -1})) {
            try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                channel.connect(UnixDomainSocketAddress.of(server.socket()));
                DataOutputStream out = new DataOutputStream(Channels.newOutputStream(channel));
                out.write(garbage);
                out.flush();
                channel.shutdownOutput();
                byte[] answer = Channels.newInputStream(channel).readAllBytes();
                assertTrue(answer.length < 64, "no command ran for garbage: " + answer.length + " bytes");
            }
        }
        assertEquals(0, call("ls", image.toString(), "/").code());
        assertTrue(log.toString().contains("dropped a caller"), log::toString);
    }

    @Test
    void anotherImageIsNotServedHere() throws Exception {
        Path other = dir.resolve("other.img");
        CowFileSystem.create(other, FsOptions.builder().commitIntervalMillis(0).build()).close();
        Result wrong = call("ls", other.toString(), "/");
        assertEquals(Cowfs.ExitCode.USAGE.code, wrong.code());
        assertTrue(wrong.err().contains("holds " + image + " only"), wrong.err());
    }
}
