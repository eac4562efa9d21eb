package dev.cowfs.fs.nio;

import dev.cowfs.fs.FsException;
import dev.cowfs.fs.FsStat;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.FileStoreAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;

/**
 * The one store of an image: named by the image file, of type "cowfs". Its space figures come from the engine's
 * statfs and describe the image file as it is now: the total is the file's current length (the image grows on
 * demand, as far as the host disk allows), usable and unallocated space the blocks in it that are free.
 */
final class CowFileStore extends FileStore {
    static final String TYPE = "cowfs";

    private final CowNioFileSystem fileSystem;

    CowFileStore(CowNioFileSystem fileSystem) {
        this.fileSystem = fileSystem;
    }

    @Override
    public String name() {
        return fileSystem.imageName();
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public long getTotalSpace() throws IOException {
        FsStat stat = statfs();
        return stat.totalBlocks() * stat.blockSize();
    }

    @Override
    public long getUsableSpace() throws IOException {
        FsStat stat = statfs();
        return stat.availableBlocks() * stat.blockSize();
    }

    @Override
    public long getUnallocatedSpace() throws IOException {
        FsStat stat = statfs();
        return stat.freeBlocks() * stat.blockSize();
    }

    @Override
    public long getBlockSize() throws IOException {
        return statfs().blockSize();
    }

    @Override
    public boolean supportsFileAttributeView(Class<? extends FileAttributeView> type) {
        return type == BasicFileAttributeView.class || type == PosixFileAttributeView.class
                || type == FileOwnerAttributeView.class;
    }

    @Override
    public boolean supportsFileAttributeView(String name) {
        return AttributeNames.VIEWS.contains(name);
    }

    /** No store-level attribute view: the space figures are all there is. */
    @Override
    public <V extends FileStoreAttributeView> V getFileStoreAttributeView(Class<V> type) {
        return null;
    }

    @Override
    public Object getAttribute(String attribute) throws IOException {
        return switch (attribute) {
            case "totalSpace" -> getTotalSpace();
            case "usableSpace" -> getUsableSpace();
            case "unallocatedSpace" -> getUnallocatedSpace();
            case "blockSize" -> getBlockSize();
            default -> throw new UnsupportedOperationException("'" + attribute + "' not recognized by the store of "
                    + fileSystem.imageName());
        };
    }

    private FsStat statfs() throws IOException {
        try {
            return fileSystem.core().statfs();
        } catch (FsException e) {
            throw NioErrors.translate(e, fileSystem.imageName());
        }
    }

    @Override
    public String toString() {
        return fileSystem.imageName() + " (" + TYPE + ")";
    }
}
