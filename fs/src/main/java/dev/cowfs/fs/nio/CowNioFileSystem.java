package dev.cowfs.fs.nio;

import dev.cowfs.fs.CowFileSystem;

import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * One open cowfs image seen as a {@link FileSystem}: one root "/", one {@link CowFileStore}, unix paths, and
 * the "basic", "owner", "posix" and "unix" attribute views. Closing it closes the channels and directory
 * streams still open on it and then the image, which commits everything done so far.
 */
final class CowNioFileSystem extends FileSystem {
    private final CowFileSystemProvider provider;
    /** The image file (a real path): the key of this file system among the open ones. */
    private final Path image;
    private final CowFileSystem core;
    private final CowPath root;
    private final CowFileStore store;
    private final CowPrincipals principals;
    private final Namespace namespace;
    private final FileLockTable locks = new FileLockTable();
    private final Set<Closeable> openResources = ConcurrentHashMap.newKeySet();
    private volatile boolean open = true;

    CowNioFileSystem(CowFileSystemProvider provider, Path image, CowFileSystem core, ProcessIdentity identity) {
        this.provider = provider;
        this.image = image;
        this.core = core;
        this.root = CowPath.root(this);
        this.store = new CowFileStore(this);
        this.principals = new CowPrincipals(identity);
        this.namespace = new Namespace(this, identity);
    }

    /** The engine filesystem; a {@link ClosedFileSystemException} once this file system is closed. */
    CowFileSystem core() {
        if (!open) {
            throw new ClosedFileSystemException();
        }
        return core;
    }

    Namespace namespace() {
        return namespace;
    }

    CowPrincipals principals() {
        return principals;
    }

    FileLockTable locks() {
        return locks;
    }

    Path image() {
        return image;
    }

    String imageName() {
        return image.toString();
    }

    CowPath rootDirectory() {
        return root;
    }

    /** A channel or directory stream to close (and release) when this file system closes first. */
    void register(Closeable resource) {
        openResources.add(resource);
    }

    void unregister(Closeable resource) {
        openResources.remove(resource);
    }

    /** "cowfs:" + image + "!" + the absolute path, quoted where a URI needs it. */
    URI uriOf(CowPath absolutePath) {
        try {
            return new URI(CowFileSystemProvider.SCHEME, image.toUri().getPath() + "!" + absolutePath, null);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("no URI for " + absolutePath + " in image " + image, e);
        }
    }

    @Override
    public CowFileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (!open) {
                return;
            }
            List<IOException> failures = new ArrayList<>();
            for (Closeable resource : List.copyOf(openResources)) {
                try {
                    resource.close();
                } catch (IOException e) {
                    failures.add(e);
                }
            }
            open = false;
            provider.removeFileSystem(image, this);
            try {
                core.close();
            } catch (IOException e) {
                failures.forEach(e::addSuppressed);
                throw e;
            }
            if (!failures.isEmpty()) {
                IOException first = failures.get(0);
                failures.subList(1, failures.size()).forEach(first::addSuppressed);
                throw first;
            }
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(root);
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return List.of(store);
    }

    CowFileStore store() {
        return store;
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return AttributeNames.VIEWS;
    }

    @Override
    public CowPath getPath(String first, String... more) {
        StringBuilder text = new StringBuilder(first);
        for (String segment : more) {
            if (!segment.isEmpty()) {
                if (text.length() > 0) {
                    text.append('/');
                }
                text.append(segment);
            }
        }
        return CowPath.parse(this, text.toString());
    }

    /** "glob:" (see {@link Globs}) or "regex:" patterns, matched against the whole path string. */
    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        int colon = syntaxAndPattern.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("expected syntax:pattern, got '" + syntaxAndPattern + "'");
        }
        String syntax = syntaxAndPattern.substring(0, colon);
        String pattern = syntaxAndPattern.substring(colon + 1);
        Pattern regex;
        if (syntax.equalsIgnoreCase("glob")) {
            regex = Pattern.compile(Globs.toRegex(pattern));
        } else if (syntax.equalsIgnoreCase("regex")) {
            regex = Pattern.compile(pattern);
        } else {
            throw new UnsupportedOperationException("syntax '" + syntax + "' not recognized (glob or regex)");
        }
        return path -> regex.matcher(path.toString()).matches();
    }

    @Override
    public CowPrincipals getUserPrincipalLookupService() {
        return principals;
    }

    /** There is none: nothing outside this process changes an open image, so there is nothing to watch for. */
    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("cowfs offers no watch service (image " + image + ")");
    }

    @Override
    public String toString() {
        return CowFileSystemProvider.SCHEME + ":" + image;
    }
}
