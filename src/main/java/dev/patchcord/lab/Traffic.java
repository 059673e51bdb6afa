package dev.patchcord.lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * Test traffic that checks itself: a TCP source sending a reproducible pseudo-random stream, a
 * sink reporting what arrived with its SHA-256, and a sender of arbitrary UDP datagrams (including
 * empty and oversize ones) for robustness tests.
 */
public final class Traffic {
    private Traffic() {}

    /** What one transfer moved. */
    public record Report(long bytes, String sha256, double seconds, long longestStallMillis) {
        public Report(long bytes, String sha256, double seconds) {
            this(bytes, sha256, seconds, -1);
        }

        public double gbitPerSecond() {
            return seconds <= 0 ? 0 : bytes * 8 / seconds / 1e9;
        }

        @Override
        public String toString() {
            String s = String.format("bytes=%d sha256=%s seconds=%.3f gbps=%.3f", bytes, sha256, seconds, gbitPerSecond());
            return longestStallMillis < 0 ? s : s + " longest_stall_ms=" + longestStallMillis;
        }
    }

    /** Accepts one connection on {@code port} (all addresses) and reads it to the end. */
    public static Report sink(int port, Runnable listening) throws IOException {
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(port));
            listening.run();
            try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                MessageDigest sha = sha256();
                byte[] buf = new byte[1 << 16];
                long total = 0;
                long start = System.nanoTime();
                // The longest wait between two reads once data flows: how long the stream stood still.
                long last = 0, stall = 0;
                int n;
                while ((n = in.read(buf)) > 0) {
                    long now = System.nanoTime();
                    if (last != 0) {
                        stall = Math.max(stall, now - last);
                    }
                    last = now;
                    sha.update(buf, 0, n);
                    total += n;
                }
                return new Report(total, HexFormat.of().formatHex(sha.digest()), (System.nanoTime() - start) / 1e9,
                        stall / 1_000_000);
            }
        }
    }

    /** Sends {@code bytes} pseudo-random bytes derived from {@code seed} to {@code to}. */
    public static Report source(InetSocketAddress to, long bytes, long seed) throws IOException {
        return source(to, bytes, seed, 0);
    }

    /**
     * As {@link #source(InetSocketAddress, long, long)}, at no more than {@code bytesPerSecond}
     * (0: as fast as it goes), so that a transfer lasts long enough for what a test does meanwhile.
     */
    public static Report source(InetSocketAddress to, long bytes, long seed, long bytesPerSecond) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(to, 10_000);
            MessageDigest sha = sha256();
            SplittableRandom random = new SplittableRandom(seed);
            byte[] buf = new byte[1 << 16];
            long start = System.nanoTime();
            long left = bytes;
            try (OutputStream out = s.getOutputStream()) {
                while (left > 0) {
                    if (bytesPerSecond > 0) {
                        pace(start, bytes - left, bytesPerSecond);
                    }
                    int n = (int) Math.min(buf.length, left);
                    random.nextBytes(buf);
                    out.write(buf, 0, n);
                    sha.update(buf, 0, n);
                    left -= n;
                }
                out.flush();
                s.shutdownOutput();
                // Wait for the sink to close, so the time covers delivery, not just buffering.
                s.getInputStream().read();
            }
            return new Report(bytes, HexFormat.of().formatHex(sha.digest()), (System.nanoTime() - start) / 1e9);
        }
    }

    /** Waits until {@code sent} bytes are due at {@code rate} since {@code start}. */
    private static void pace(long start, long sent, long rate) throws IOException {
        long due = start + (long) (sent * 1e9 / rate);
        long wait = due - System.nanoTime();
        if (wait > 0) {
            try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
    }

    /** Sends each payload, then one datagram of each given size (random bytes; 0 sends an empty datagram). */
    public static void datagrams(InetSocketAddress to, int[] sizes, byte[][] payloads) throws IOException {
        StandardProtocolFamily family = to.getAddress() instanceof java.net.Inet6Address
                ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
        try (DatagramChannel ch = DatagramChannel.open(family)) {
            SplittableRandom random = new SplittableRandom(1);
            for (byte[] payload : payloads) {
                ch.send(ByteBuffer.wrap(payload), to);
            }
            for (int size : sizes) {
                byte[] b = new byte[size];
                random.nextBytes(b);
                ch.send(ByteBuffer.wrap(b), to);
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
