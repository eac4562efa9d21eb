/**
 * cowfs images as {@code java.nio.file} file systems: the provider for the URI scheme "cowfs"
 * ({@link dev.cowfs.fs.nio.CowFileSystemProvider}, the one public type) over {@link dev.cowfs.fs.CowFileSystem}.
 *
 * <p>Paths are unix paths resolved by the engine from the image's root; byte channels, directory streams,
 * links, moves, copies and the "basic", "owner", "posix" and "unix" attribute views follow the JDK's unix
 * provider, down to the exception each refusal gives. The differential test against jimfs lists where that
 * provider and jimfs part ways.
 */
package dev.cowfs.fs.nio;
