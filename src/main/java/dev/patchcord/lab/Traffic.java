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
    public record Report(long bytes, String sha256, double seconds) {
        public double gbitPerSecond() {
            return seconds <= 0 ? 0 : bytes * 8 / seconds / 1e9;
        }

        @Override
        public String toString() {
            return String.format("bytes=%d sha256=%s seconds=%.3f gbps=%.3f", bytes, sha256, seconds, gbitPerSecond());
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
                int n;
                while ((n = in.read(buf)) > 0) {
                    sha.update(buf, 0, n);
                    total += n;
                }
                return new Report(total, HexFormat.of().formatHex(sha.digest()), (System.nanoTime() - start) / 1e9);
            }
        }
    }

    /** Sends {@code bytes} pseudo-random bytes derived from {@code seed} to {@code to}. */
    public static Report source(InetSocketAddress to, long bytes, long seed) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(to, 10_000);
            MessageDigest sha = sha256();
            SplittableRandom random = new SplittableRandom(seed);
            byte[] buf = new byte[1 << 16];
            long start = System.nanoTime();
            long left = bytes;
            try (OutputStream out = s.getOutputStream()) {
                while (left > 0) {
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
