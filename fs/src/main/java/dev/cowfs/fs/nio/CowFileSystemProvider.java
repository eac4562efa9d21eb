package dev.cowfs.fs.nio;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.spi.FileSystemProvider;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code java.nio.file} provider of cowfs images, for the URI scheme {@value #SCHEME}.
 *
 * <p>An image is opened (or, with the environment entry {@code create=true}, made) by
 * {@code FileSystems.newFileSystem(URI.create("cowfs:/path/to/image"), env)} or by
 * {@link #newFileSystem(Path, Map)}; see {@link ImageEnvironment} for the other keys. One file system per image
 * is open at a time ({@link FileSystemAlreadyExistsException} otherwise); {@link #getFileSystem(URI)} finds it,
 * and closing it commits and closes the image. A path's URI is {@code cowfs:/path/to/image!/path/inside}.
 *
 * <p>{@code FileSystems.newFileSystem(Path, env)} asks every installed provider in turn and the JDK's zip
 * provider comes first and takes files that do not exist, so to make a new image through a {@code Path} call
 * this provider directly (or use the URI). Existing images are recognised by their superblock magic; other
 * files are declined, leaving them to other providers.
 *
 * <p>Paths are unix paths; errors are the JDK unix provider's exceptions. Permission bits are stored and
 * reported but not enforced: the image belongs to the process that opened it.
 */
public final class CowFileSystemProvider extends FileSystemProvider {
    /** The URI scheme. */
    public static final String SCHEME = "cowfs";

    /** Open file systems by their image's real path. Guarded by this. */
    private final Map<Path, CowNioFileSystem> fileSystems = new HashMap<>();

    /** Made by the service loader; use {@code FileSystems} or {@link #installed()}. */
    public CowFileSystemProvider() {
    }

    /** The installed instance (registered in META-INF/services), through which the JDK finds cowfs URIs. */
    public static CowFileSystemProvider installed() {
        for (FileSystemProvider provider : FileSystemProvider.installedProviders()) {
            if (provider instanceof CowFileSystemProvider cowfs) {
                return cowfs;
            }
        }
        throw new IllegalStateException("the cowfs provider is not installed (META-INF/services entry missing)");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    // ------------------------------------------------------------------ file systems

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) throws IOException {
        return open(ImageUri.parse(uri).image(), ImageEnvironment.parse(env));
    }

    /**
     * Opens the image {@code path} (on the default file system), or makes it with {@code create=true}. A file that
     * is not a cowfs image is declined with {@link UnsupportedOperationException}, as providers must.
     */
    @Override
    public FileSystem newFileSystem(Path path, Map<String, ?> env) throws IOException {
        if (path.getFileSystem() != FileSystems.getDefault()) {
            throw new UnsupportedOperationException("a cowfs image must be a file of the default file system: "
                    + path);
        }
        if (Files.exists(path) && !(Files.isRegularFile(path) && ImageProbe.isImage(path))) {
            throw new UnsupportedOperationException("not a cowfs image: " + path);
        }
        return open(path, ImageEnvironment.parse(env));
    }

    private synchronized CowNioFileSystem open(Path image, ImageEnvironment environment) throws IOException {
        boolean exists = Files.exists(image);
        Path key = exists ? image.toRealPath() : image.toAbsolutePath().normalize();
        if (fileSystems.containsKey(key)) {
            throw new FileSystemAlreadyExistsException("cowfs image " + image + " is already open");
        }
        CowFileSystem core;
        if (exists) {
            core = CowFileSystem.open(image, environment.options());
        } else if (environment.create()) {
            core = CowFileSystem.create(image, environment.options());
            key = image.toRealPath();
        } else {
            throw new NoSuchFileException(image.toString(), null, "no cowfs image here (create=true makes one)");
        }
        CowNioFileSystem fileSystem = new CowNioFileSystem(this, key, core, ProcessIdentity.current());
        fileSystems.put(key, fileSystem);
        return fileSystem;
    }

    /** Called by a file system as it closes. */
    synchronized void removeFileSystem(Path image, CowNioFileSystem fileSystem) {
        fileSystems.remove(image, fileSystem);
    }

    @Override
    public synchronized FileSystem getFileSystem(URI uri) {
        return openFileSystem(ImageUri.parse(uri));
    }

    @Override
    public Path getPath(URI uri) {
        ImageUri parsed = ImageUri.parse(uri);
        CowNioFileSystem fileSystem;
        synchronized (this) {
            fileSystem = openFileSystem(parsed);
        }
        return fileSystem.getPath(parsed.pathInImage());
    }

    private CowNioFileSystem openFileSystem(ImageUri uri) {
        Path image = uri.image().toAbsolutePath().normalize();
        CowNioFileSystem fileSystem = fileSystems.get(image);
        if (fileSystem == null && Files.exists(image)) {
            try {
                fileSystem = fileSystems.get(image.toRealPath());
            } catch (IOException e) {
                throw new FileSystemNotFoundException("cowfs image " + image + " cannot be resolved: " + e);
            }
        }
        if (fileSystem == null) {
            throw new FileSystemNotFoundException("no cowfs file system is open for image " + image);
        }
        return fileSystem;
    }

    /** A cowfs URI taken apart: {@code cowfs:/image/file[!/path/inside]}. */
    private record ImageUri(Path image, String pathInImage) {
        static ImageUri parse(URI uri) {
            if (!SCHEME.equalsIgnoreCase(uri.getScheme())) {
                throw new IllegalArgumentException("URI scheme is not '" + SCHEME + "': " + uri);
            }
            if (uri.isOpaque() || uri.getRawAuthority() != null || uri.getRawQuery() != null
                    || uri.getRawFragment() != null || uri.getPath() == null) {
                throw new IllegalArgumentException("expected cowfs:/absolute/image/path[!/path/inside], got " + uri);
            }
            String spec = uri.getPath();
            int bang = spec.indexOf("!/");
            if (bang >= 0) {
                return new ImageUri(Path.of(spec.substring(0, bang)), spec.substring(bang + 1));
            }
            if (spec.endsWith("!")) {
                return new ImageUri(Path.of(spec.substring(0, spec.length() - 1)), "/");
            }
            return new ImageUri(Path.of(spec), "/");
        }
    }

    // ------------------------------------------------------------------ files and directories

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                              FileAttribute<?>... attrs) throws IOException {
        return newFileChannel(path, options, attrs);
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return CowFileChannel.open(checked(path), ChannelOptions.parse(options), attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        return CowDirectoryStream.open(checked(dir), filter);
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        CowPath path = checked(dir);
        int permissions = PosixModes.initialPermissions(PosixModes.DEFAULT_DIRECTORY_PERMISSIONS, attrs);
        path.getFileSystem().namespace().createDirectory(path, permissions);
    }

    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        CowPath path = checked(link);
        CowPath targetPath = CowPath.cast(target);
        if (attrs.length > 0) {
            throw new UnsupportedOperationException("initial file attributes are not supported for symbolic "
                    + "link " + link);
        }
        path.getFileSystem().namespace().createSymbolicLink(path, targetPath.toString());
    }

    @Override
    public void createLink(Path link, Path existing) throws IOException {
        CowPath path = checked(link);
        CowPath existingPath = checked(existing);
        if (path.getFileSystem() != existingPath.getFileSystem()) {
            throw new FileSystemException(link.toString(), existing.toString(), NioErrors.reason(Errno.EXDEV));
        }
        path.getFileSystem().namespace().createLink(path, existingPath);
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        CowPath path = checked(link);
        return path.getFileSystem().namespace().readSymbolicLink(path);
    }

    @Override
    public void delete(Path path) throws IOException {
        CowPath cowPath = checked(path);
        cowPath.getFileSystem().namespace().delete(cowPath);
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        CopyMove.copy(checked(source), checked(target), options);
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        CopyMove.move(checked(source), checked(target), options);
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        CowPath first = checked(path);
        if (!(path2 instanceof CowPath second)) {
            return false;
        }
        return first.getFileSystem().namespace().isSameFile(first, second);
    }

    /** A name starting with '.' is hidden, as on unix. */
    @Override
    public boolean isHidden(Path path) {
        CowPath name = checked(path).getFileName();
        return name != null && name.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        CowPath cowPath = checked(path);
        cowPath.getFileSystem().namespace().resolve(cowPath, true);
        return cowPath.getFileSystem().store();
    }

    /** Checks that the file exists; permission bits are not enforced for the process owning the image. */
    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        for (AccessMode mode : modes) {
            Objects.requireNonNull(mode, "access mode");
        }
        CowPath cowPath = checked(path);
        cowPath.getFileSystem().namespace().resolve(cowPath, true);
    }

    // ------------------------------------------------------------------ attributes

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        CowPath cowPath = checked(path);
        boolean follow = LinkOptions.follow(options);
        if (type == BasicFileAttributeView.class) {
            return type.cast(new CowFileAttributeView("basic", cowPath, follow));
        }
        if (type == PosixFileAttributeView.class) {
            return type.cast(new CowFileAttributeView("posix", cowPath, follow));
        }
        if (type == FileOwnerAttributeView.class) {
            return type.cast(new CowFileAttributeView("owner", cowPath, follow));
        }
        return null;
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        if (type != BasicFileAttributes.class && type != PosixFileAttributes.class) {
            throw new UnsupportedOperationException("attributes " + type.getName() + " not available for " + path);
        }
        CowPath cowPath = checked(path);
        return type.cast(cowPath.getFileSystem().namespace().attributes(cowPath, LinkOptions.follow(options)));
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
            throws IOException {
        return AttributeNames.read(checked(path), attributes, LinkOptions.follow(options));
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        AttributeNames.write(checked(path), attribute, value, LinkOptions.follow(options));
    }

    /** The path as a cowfs path of an open file system. */
    private static CowPath checked(Path path) {
        CowPath cowPath = CowPath.cast(path);
        if (!cowPath.getFileSystem().isOpen()) {
            throw new ClosedFileSystemException();
        }
        return cowPath;
    }
}
