package io.peft4j.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Bytes held in consecutive Java buffers of equal size (the last may be shorter): one heap buffer
 * for a small tensor, or windows of a memory map for one over the 2 GiB a single mapping allows.
 * Window sizes are multiples of 8, so that no element straddles two windows.
 */
final class BufferWindows implements TensorBytes {
    private final List<ByteBuffer> windows;
    private final long windowBytes;
    private final long size;

    BufferWindows(List<ByteBuffer> windows) {
        List<ByteBuffer> ws = new ArrayList<>();
        long total = 0;
        for (ByteBuffer w : windows) {
            ByteBuffer s = w.slice().order(ByteOrder.LITTLE_ENDIAN);
            ws.add(s);
            total += s.remaining();
        }
        this.windows = Collections.unmodifiableList(ws);
        this.windowBytes = ws.isEmpty() ? 1 : Math.max(1, ws.get(0).remaining());
        this.size = total;
    }

    static BufferWindows of(ByteBuffer single) {
        return new BufferWindows(List.of(single));
    }

    /** The windows, read-only and little-endian, in order. */
    List<ByteBuffer> windows() {
        List<ByteBuffer> out = new ArrayList<>();
        for (ByteBuffer w : windows) {
            out.add(w.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN));
        }
        return out;
    }

    /** Heap buffers (or ones already copied): safe to hand to native code as they are. */
    @Override
    public List<ByteBuffer> nativeWindows(long windowBytes) {
        return windows();
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
        int first = (int) (offset / windowBytes);
        int within = (int) (offset % windowBytes);
        ByteBuffer w = windows.get(Math.min(first, windows.size() - 1));
        if (within + (long) length <= w.remaining()) {
            return w.asReadOnlyBuffer().position(within).limit(within + length).slice().asReadOnlyBuffer()
                    .order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer out = ByteBuffer.allocate(length);
        long at = offset;
        while (out.hasRemaining()) {
            ByteBuffer src = windows.get((int) (at / windowBytes)).duplicate();
            int from = (int) (at % windowBytes);
            int n = Math.min(out.remaining(), src.remaining() - from);
            src.position(from).limit(from + n);
            out.put(src);
            at += n;
        }
        return out.flip().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void writeTo(WritableByteChannel channel) throws IOException {
        for (ByteBuffer w : windows) {
            ByteBuffer b = w.duplicate();
            while (b.hasRemaining()) {
                channel.write(b);
            }
        }
    }
}
