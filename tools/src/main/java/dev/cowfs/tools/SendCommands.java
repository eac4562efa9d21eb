package dev.cowfs.tools;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.SubvolumeInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/** {@code cowfs send} and {@code cowfs receive}: a snapshot carried to another image as a stream (docs/SEND.md). */
final class SendCommands {
    private SendCommands() {
    }

    @Command(name = "send", mixinStandardHelpOptions = true,
            description = "Write a read-only snapshot as a send stream: whole, or only what changed since a base "
                    + "snapshot (--from) that the receiving image has.",
            footer = {"", "Examples:", "  cowfs send data.img monday > monday.stream",
                    "  cowfs send data.img tuesday --from monday | ssh backup cowfs receive /srv/copy.img",
                    "  cowfs send data.img tuesday --from monday -o tuesday.stream --json"})
    static final class Send extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "the read-only snapshot to send")
        String snapshot;
        @Option(names = "--from", paramLabel = "BASE",
                description = "send only the changes since this read-only snapshot (the receiver must have it)")
        String base;
        @Option(names = {"-o", "--output"}, paramLabel = "FILE",
                description = "write the stream to FILE instead of standard output")
        String output;
        @Option(names = "--json", description = "the summary as one JSON object")
        boolean json;

        @Override
        public Integer call() throws IOException {
            Path file = output == null ? null : hostPath(output);
            if (file == null && invocation.outputTerminal()) {
                throw new Cowfs.UsageException("the send stream is binary and standard output is a terminal; "
                        + "redirect it (> FILE, | cowfs receive ...) or give -o FILE");
            }
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                long id = Images.subvolume(fs, snapshot);
                long baseId = base == null ? -1 : Images.subvolume(fs, base);
                long start = System.nanoTime();
                CowFileSystem.SendSummary sent;
                boolean done = false;
                OutputStream target = file == null ? invocation.binaryOut()
                        : Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                try (Progress bar = progress("send", -1, "bytes")) {
                    OutputStream out = new BufferedOutputStream(target, 1 << 20);
                    long[] shown = {0};
                    sent = fs.send(id, baseId, out, bytes -> {
                        bar.step(bytes - shown[0]);
                        shown[0] = bytes;
                    });
                    out.flush();
                    done = true;
                } finally {
                    if (file != null) {
                        target.close();
                        if (!done) {
                            Files.deleteIfExists(file); // a cut stream would only be refused later
                        }
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                PrintWriter summary = file == null ? invocation.err() : out();
                if (json) {
                    summary.println("{\"snapshot\":" + Images.json(snapshot) + ",\"base\":"
                            + (base == null ? "null" : Images.json(base)) + ",\"records\":" + sent.records()
                            + ",\"stream_bytes\":" + sent.streamBytes() + ",\"data_bytes\":" + sent.dataBytes()
                            + ",\"extents_sent\":" + sent.extentsSent() + ",\"extents_reused\":"
                            + sent.extentsReused() + ",\"items_added\":" + sent.itemsAdded() + ",\"items_removed\":"
                            + sent.itemsRemoved() + ",\"content_hash\":\"" + sent.contentHash() + "\",\"seconds\":"
                            + String.format(Locale.ROOT, "%.3f", seconds) + "}");
                } else {
                    summary.println("sent " + snapshot + (base == null ? " (whole)" : " (changes since " + base + ")")
                            + ": " + Images.humanBytes(sent.streamBytes()) + " in " + sent.records() + " records ("
                            + Images.humanBytes(sent.dataBytes()) + " of file data; " + sent.extentsSent()
                            + " extents sent, " + sent.extentsReused() + " referred to) in "
                            + String.format(Locale.ROOT, "%.1f s, %s/s", seconds,
                            Images.humanBytes((long) (sent.streamBytes() / Math.max(seconds, 1e-3)))));
                }
                summary.flush();
            }
            return 0;
        }
    }

    @Command(name = "receive", mixinStandardHelpOptions = true,
            description = "Read a send stream into a new read-only snapshot. Nothing of it appears unless the "
                    + "whole stream arrives intact and checks out; an incremental stream needs its base here.",
            footer = {"", "Examples:", "  cowfs receive copy.img < monday.stream",
                    "  cowfs send data.img tuesday --from monday | cowfs receive copy.img",
                    "  cowfs receive copy.img -i tuesday.stream --name tuesday-copy --json"})
    static final class Receive extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file to receive into")
        Path image;
        @Option(names = {"-i", "--input"}, paramLabel = "FILE",
                description = "read the stream from FILE instead of standard input")
        String input;
        @Option(names = "--name", paramLabel = "NAME", description = "name the snapshot NAME (default: as sent)")
        String name;
        @Option(names = "--json", description = "the summary as one JSON object")
        boolean json;

        @Override
        public Integer call() throws IOException {
            if (input == null && invocation.inputTerminal()) {
                throw new Cowfs.UsageException("standard input is a terminal, and a send stream is never typed in; "
                        + "pipe one in (cowfs send ... | cowfs receive IMAGE) or give -i FILE");
            }
            try (Images.Session session = open(image, true);
                 InputStream source = input == null ? invocation.in() : Files.newInputStream(hostPath(input));
                 Progress bar = progress("receive", input == null ? -1 : Files.size(hostPath(input)), "bytes")) {
                CowFileSystem fs = session.fs();
                long start = System.nanoTime();
                long[] shown = {0};
                CowFileSystem.ReceiveSummary received = fs.receive(new BufferedInputStream(source, 1 << 20), name,
                        bytes -> {
                            bar.step(bytes - shown[0]);
                            shown[0] = bytes;
                        });
                double seconds = (System.nanoTime() - start) / 1e9;
                SubvolumeInfo info = received.snapshot();
                String base = info.parentId() < 0 ? null : fs.subvolume(info.parentId()).name();
                if (json) {
                    out().println("{\"snapshot\":" + Images.json(info.name()) + ",\"id\":" + info.id()
                            + ",\"base\":" + (base == null ? "null" : Images.json(base)) + ",\"uuid\":\""
                            + info.uuid() + "\",\"received_uuid\":\"" + info.receivedUuid() + "\",\"records\":"
                            + received.records() + ",\"stream_bytes\":" + received.streamBytes() + ",\"data_bytes\":"
                            + received.dataBytes() + ",\"extents_written\":" + received.extentsWritten()
                            + ",\"extents_reused\":" + received.extentsReused() + ",\"content_hash\":\""
                            + received.contentHash() + "\",\"seconds\":" + String.format(Locale.ROOT, "%.3f", seconds)
                            + "}");
                } else {
                    out().println("received " + info.name() + " (id " + info.id() + (base == null ? ", whole"
                            : ", changes since " + base) + "): " + Images.humanBytes(received.streamBytes()) + " in "
                            + received.records() + " records (" + Images.humanBytes(received.dataBytes())
                            + " of file data written, " + received.extentsReused() + " extents shared) in "
                            + String.format(Locale.ROOT, "%.1f s, %s/s", seconds,
                            Images.humanBytes((long) (received.streamBytes() / Math.max(seconds, 1e-3)))));
                }
            }
            return 0;
        }
    }
}
