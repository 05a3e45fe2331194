package io.peft4j.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;

/** One tensor's bytes inside an {@link OpenTensorFile}; every read is a copy (see there why). */
final class FileRegion implements TensorBytes {
    /** Bytes copied at a time when streaming to a channel: bounds the heap a write uses. */
    private static final int STREAM_CHUNK = 16 << 20;
    /** Slices of at least this many bytes are read into direct buffers. */
    private static final int DIRECT_FROM = 64 << 10;

    private final OpenTensorFile file;
    private final String tensor;
    private final long begin;
    private final long size;
    private final long windowBytes;

    /** {@code windowBytes}: the most bytes read into one direct buffer for native code (a multiple of 8). */
    FileRegion(OpenTensorFile file, String tensor, long begin, long size, long windowBytes) {
        this.file = file;
        this.windowBytes = windowBytes;
        this.tensor = tensor;
        this.begin = begin;
        this.size = size;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public ByteBuffer slice(long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > size) {
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length) + ") of " + size);
        }
        // Large reads (a conversion chunk, a scan for NaN) go to native memory, so that loading a
        // checkpoint does not churn the Java heap with a copy of every weight.
        ByteBuffer out = length >= DIRECT_FROM ? ByteBuffer.allocateDirect(length) : ByteBuffer.allocate(length);
        file.copy(begin + offset, out, tensor);
        return out.flip().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public List<ByteBuffer> nativeWindows(long requested) {
        long windowBytes = Math.min(requested, this.windowBytes);
        List<ByteBuffer> out = new ArrayList<>();
        for (long at = 0; at < size || out.isEmpty(); at += windowBytes) {
            ByteBuffer w = ByteBuffer.allocateDirect((int) Math.min(windowBytes, size - at)).order(ByteOrder.LITTLE_ENDIAN);
            file.copy(begin + at, w, tensor);
            out.add(w.flip());
        }
        return out;
    }

    @Override
    public void writeTo(WritableByteChannel channel) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(STREAM_CHUNK, Math.max(1, size)));
        for (long at = 0; at < size; at += chunk.capacity()) {
            chunk.clear().limit((int) Math.min(chunk.capacity(), size - at));
            file.copy(begin + at, chunk, tensor);
            chunk.flip();
            while (chunk.hasRemaining()) {
                channel.write(chunk);
            }
        }
    }
}
