package dev.patchcord.tun;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * tinyvpn's stdio mode: standard input and output stand in for an interface, so two hosts can
 * exchange text without root. Each line of input (with its newline) becomes one datagram; a line
 * longer than {@code maxChunk} is sent in pieces of that size. Received payloads go to standard
 * output unchanged. At the end of input nothing more is sent (tinyvpn instead floods empty
 * datagrams), while receiving goes on until the process is stopped.
 */
public final class StdioDevice implements PacketDevice {
    private final InputStream in;
    private final OutputStream out;
    private final int maxChunk;
    private final byte[] readBuf;
    private final byte[] writeBuf = new byte[65536];
    private boolean eof;

    public StdioDevice(InputStream in, OutputStream out, int maxChunk) {
        this.in = in;
        this.out = out;
        this.maxChunk = maxChunk;
        this.readBuf = new byte[maxChunk];
    }

    @Override
    public String name() {
        return "stdio";
    }

    @Override
    public int read(MemorySegment buf) {
        if (eof) {
            return -1;
        }
        int n = 0;
        try {
            while (n < maxChunk) {
                int c = in.read();
                if (c < 0) {
                    eof = true;
                    break;
                }
                readBuf[n++] = (byte) c;
                if (c == '\n') {
                    break;
                }
            }
        } catch (IOException e) {
            eof = true;
        }
        if (n == 0) {
            return -1;
        }
        MemorySegment.copy(readBuf, 0, buf, ValueLayout.JAVA_BYTE, 0, n);
        return n;
    }

    @Override
    public int write(MemorySegment buf, long off, int len) {
        MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, off, writeBuf, 0, len);
        try {
            out.write(writeBuf, 0, len);
            out.flush();
            return 0;
        } catch (IOException e) {
            return -dev.patchcord.sys.Linux.EIO;
        }
    }

    @Override
    public void close() {
        // The process's standard streams belong to the process, not to the tunnel.
    }
}
