package dev.patchcord.control;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Reads the lines of UAPI requests from a socket, with a bound on every request and every line,
 * so that a client cannot make the server hold more than {@code maxRequestBytes} of its text.
 *
 * <p>Bytes become characters one to one (ISO-8859-1): the protocol is ASCII, and anything else
 * fails key or value checks without a decoding error in between.
 */
final class UapiLineReader {
    /** A request or line over the limit; the connection cannot be resynchronised after it. */
    static final class Oversize extends Exception {
        Oversize(String message) {
            super(message);
        }
    }

    private final ReadableByteChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocate(8192).flip();
    private final int maxRequestBytes;
    private final int maxLineBytes;
    private int requestBytes;
    private boolean eof;

    UapiLineReader(ReadableByteChannel channel, int maxRequestBytes, int maxLineBytes) {
        this.channel = channel;
        this.maxRequestBytes = maxRequestBytes;
        this.maxLineBytes = maxLineBytes;
    }

    /** Starts counting towards the request limit afresh. */
    void startRequest() {
        requestBytes = 0;
    }

    /**
     * The next line without its '\n'. A last line without '\n' before the end of the stream is
     * returned as it is (Go's scanner does the same); after that, null.
     */
    String readLine() throws IOException, Oversize {
        StringBuilder line = new StringBuilder();
        while (true) {
            while (buffer.hasRemaining()) {
                byte b = buffer.get();
                if (++requestBytes > maxRequestBytes) {
                    throw new Oversize("request is longer than " + maxRequestBytes + " bytes");
                }
                if (b == '\n') {
                    return line.toString();
                }
                if (line.length() >= maxLineBytes) {
                    throw new Oversize("request has a line longer than " + maxLineBytes + " bytes");
                }
                line.append((char) (b & 0xff));
            }
            if (eof) {
                return line.isEmpty() ? null : line.toString();
            }
            buffer.clear();
            eof = channel.read(buffer) < 0;
            buffer.flip();
        }
    }

    /**
     * The lines of a set request up to the empty line that ends it (or the end of the stream), each
     * followed by '\n'. A line of just "\r" also ends it, as in Go's line scanner.
     */
    String readBody() throws IOException, Oversize {
        StringBuilder body = new StringBuilder();
        for (String line = readLine(); line != null && !line.isEmpty() && !line.equals("\r"); line = readLine()) {
            body.append(line).append('\n');
        }
        return body.toString();
    }
}
