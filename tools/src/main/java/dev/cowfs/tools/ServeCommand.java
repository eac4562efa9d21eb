package dev.cowfs.tools;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.error.ImageLockedException;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import sun.misc.Signal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code cowfs serve}: hold an image open and answer its control channel until stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Hold an image open for writing and answer its control channel (IMAGE.sock, mode 0600) until "
                + "stopped, so that every other cowfs command on the image, from any process of the same user or "
                + "root, runs here on the live filesystem.",
        footer = {"", "Stop it with Ctrl-C or kill (SIGINT or SIGTERM): it finishes the commands it is running, "
                + "commits and exits 0.", "", "Examples:", "  cowfs serve data.img &",
                "  cowfs snapshot create data.img default monday   # taken by the serving process"})
final class ServeCommand extends ToolCommand {
    @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
    Path image;
    @Option(names = "--commit", paramLabel = "SECONDS", defaultValue = "5",
            description = "commit what channel commands leave pending at least this often (default: ${DEFAULT-VALUE})")
    int commitSeconds;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (invocation.images() != Images.LOCAL) {
            throw new Cowfs.UsageException("the image is already held and served by this process");
        }
        if (commitSeconds < 1) {
            throw new Cowfs.UsageException("--commit must be at least 1 second");
        }
        FsOptions options = FsOptions.builder().commitIntervalMillis(commitSeconds * 1000L)
                .store(StoreOptions.builder().build()).build();
        CowFileSystem opened;
        try {
            opened = CowFileSystem.open(image, options);
        } catch (ImageLockedException e) {
            throw new ImageLockedException(image + " is already open in another process"
                    + (Files.exists(Channel.socketOf(image)) ? ", which serves it on " + Channel.socketOf(image) : "")
                    + "; stop that process first", true);
        }
        try (CowFileSystem fs = opened;
             ChannelServer server = new ChannelServer(image, fs, out())) {
            server.bind();
            AtomicBoolean stopping = new AtomicBoolean();
            Runnable stop = () -> {
                if (stopping.compareAndSet(false, true)) {
                    try {
                        server.close();
                    } catch (IOException e) {
                        invocation.err().println("cowfs: serve: closing the channel: " + Cowfs.messageOf(e));
                    }
                }
            };
            Signal.handle(new Signal("TERM"), signal -> stop.run());
            Signal.handle(new Signal("INT"), signal -> stop.run());
            for (String warning : fs.store().openWarnings()) {
                invocation.err().println("cowfs: warning: " + image + ": " + warning);
            }
            long pid = ProcessHandle.current().pid();
            out().println("serving " + image + " on " + server.socket() + " (pid " + pid + "); stop with Ctrl-C or "
                    + "kill " + pid);
            out().flush();
            server.run();
            server.close(); // waits for the commands still running
            out().println("stopped serving " + image + "; committed generation " + finalSync(fs));
        }
        return 0;
    }

    private static long finalSync(CowFileSystem fs) throws IOException {
        fs.sync();
        return fs.statfs().generation();
    }
}
