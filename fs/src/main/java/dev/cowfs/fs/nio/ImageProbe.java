package dev.cowfs.fs.nio;

import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SuperblockLayout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Tells a cowfs image from another file without opening it (opening takes the image lock, which makes a lock
 * file beside it): some superblock slot of the ring carries the superblock magic. Used where the JDK offers a
 * file to every provider in turn ({@code FileSystems.newFileSystem(Path)}), so that other files are declined.
 */
final class ImageProbe {
    private ImageProbe() {
    }

    static boolean isImage(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            byte[] magic = new byte[SuperblockLayout.MAGIC_SIZE];
            for (int slot = 0; slot < Limits.SUPERBLOCK_RING_SLOTS; slot++) {
                ByteBuffer buffer = ByteBuffer.wrap(magic);
                long offset = Limits.superblockSlotOffset(slot) + SuperblockLayout.MAGIC_OFFSET;
                while (buffer.hasRemaining()) {
                    if (channel.read(buffer, offset + buffer.position()) < 0) {
                        return false; // shorter than the ring: not an image
                    }
                }
                if (Bytes.getLong(magic, 0) == SuperblockLayout.MAGIC) {
                    return true;
                }
            }
            return false;
        }
    }
}
