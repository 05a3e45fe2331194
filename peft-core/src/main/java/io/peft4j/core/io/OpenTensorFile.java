package io.peft4j.core.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

/**
 * The data region of one safetensors file, read on demand with positional reads through one open
 * channel shared by all its tensors.
 *
 * <p>Why not a memory map: a file truncated after it was mapped makes any later access fault. In
 * libtorch that is SIGBUS (the JVM dies); in Java it is an {@link InternalError} that HotSpot may
 * deliver asynchronously, after the copy that faulted, so it cannot be caught reliably. A positional
 * read of a truncated file simply ends early, which is reported naming the file. One channel per
 * file (not one mapping per tensor) also keeps a file of 70,000 tiny tensors within
 * {@code vm.max_map_count} and the file-descriptor limit. The channel is closed once no tensor of
 * the file is reachable.
 */
final class OpenTensorFile {
    private static final Cleaner CLEANER = Cleaner.create();

    private final Path file;
    private final long dataStart;
    private final Object fileKey;
    private final Holder holder;

    /** Holds the channel apart from the owner, so that the cleaner does not keep the owner alive. */
    private static final class Holder implements Runnable {
        volatile FileChannel channel;

        @Override
        public void run() {
            try {
                channel.close();
            } catch (IOException e) {
                // Closing a read-only channel of a file nobody reads any more: nothing to recover.
            }
        }
    }

    OpenTensorFile(Path file, FileChannel channel, long dataStart) throws IOException {
        this.file = file;
        this.dataStart = dataStart;
        this.fileKey = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        this.holder = new Holder();
        holder.channel = channel;
        CLEANER.register(this, holder);
    }

    Path file() {
        return file;
    }

    /**
     * Reads bytes from {@code offset} of the data region into {@code dst} (up to its limit).
     *
     * @throws UncheckedIOException wrapping a {@link TensorFormatException} naming the file and the
     *     tensor when the file shrank or was replaced since it was opened, or cannot be read
     */
    void copy(long offset, ByteBuffer dst, String tensor) {
        long at = dataStart + offset;
        try {
            while (dst.hasRemaining()) {
                int n;
                try {
                    n = holder.channel.read(dst, at);
                } catch (ClosedByInterruptException e) {
                    // This thread was interrupted, which closed the shared channel: reopen it for the
                    // other tensors, and give the interrupt to the caller.
                    reopen(tensor);
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException(file + ": reading tensor '" + tensor + "' was interrupted");
                } catch (ClosedChannelException e) {
                    // Another thread's interrupt closed the shared channel: reopen the same file, read on.
                    reopen(tensor);
                    continue;
                }
                if (n < 0) {
                    throw new TensorFormatException(file, "tensor '" + tensor + "': the file was truncated after"
                            + " it was opened (it ends at byte " + at + ", the tensor needs "
                            + dst.remaining() + " more)");
                }
                at += n;
            }
        } catch (TensorFormatException e) {
            throw new UncheckedIOException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(new TensorFormatException(file, "tensor '" + tensor
                    + "': cannot be read: " + e, e));
        }
    }

    private synchronized void reopen(String tensor) throws IOException {
        if (holder.channel.isOpen()) {
            return;
        }
        boolean interrupted = Thread.interrupted(); // FileChannel.open must not see the interrupt it served
        try {
            holder.channel = checkedOpen(tensor);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private FileChannel checkedOpen(String tensor) throws IOException {
        FileChannel fresh = FileChannel.open(file, StandardOpenOption.READ);
        Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        if (key == null || !Objects.equals(key, fileKey)) {
            fresh.close();
            throw new TensorFormatException(file, "tensor '" + tensor + "': the file was replaced after it was"
                    + " opened and its reading was interrupted; read it again");
        }
        return fresh;
    }
}
