package dev.patchcord.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The traffic of the training run ({@link TrainCommand}): TCP and UDP between two tunnels of the
 * training namespace, so that the JIT profiles (and the AOT cache made from them) cover the packet
 * path, not only start-up. Both tunnels' addresses are local to the one namespace, where the kernel
 * would normally deliver through {@code lo}; {@link #route} makes locally sent packets to them take
 * the tunnels' routes instead, and lets the tunnels hand them back in.
 *
 * <p>What runs: lone UDP round trips of many sizes (the path of a ping, a packet that waits for no
 * batch), bursts of them (batches on both sockets), then a TCP transfer each way, which the kernel
 * hands to the TUN interface as large segments (TSO, split by the tunnel) and takes back coalesced
 * (GRO). Every loop is bounded by a count and by a deadline; nothing sleeps.
 */
final class TrainTraffic {
    static final String LEFT = "10.250.0.1";
    static final String RIGHT = "10.250.1.1";
    private static final int UDP_PORT = 9000;
    private static final int TCP_PORT = 9001;
    private static final int LONE = 1000;
    private static final int BURSTS = 40;
    private static final int BURST = 32;
    private static final int MAX_UDP = 1392;   // 1420 (the tunnels' MTU) - 20 (IPv4) - 8 (UDP)
    private static final int TCP_BYTES = 8 << 20;

    private TrainTraffic() {}

    /**
     * Sets up the private namespace for tunnel-to-tunnel traffic (see the class comment): the
     * local routing table is looked up after two rules that send locally made packets for either
     * address by the main table (the tunnels' routes), and a packet from a local address is
     * accepted when it comes in on an interface. Returns why it could not, or null when it did.
     */
    static String route() {
        try {
            for (String conf : List.of("all", "default")) {
                Files.writeString(Path.of("/proc/sys/net/ipv4/conf", conf, "accept_local"), "1");
                Files.writeString(Path.of("/proc/sys/net/ipv4/conf", conf, "rp_filter"), "0");
            }
            for (String rule : List.of("add pref 100 lookup local", "del pref 0",
                    "add pref 10 iif lo to " + LEFT + " lookup main", "add pref 11 iif lo to " + RIGHT + " lookup main")) {
                Process p = new ProcessBuilder(("ip rule " + rule).split(" ")).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    return "ip rule " + rule + " failed: " + out.strip();
                }
            }
            return null;
        } catch (IOException e) {
            return "no policy routing (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Runs the traffic, from the LEFT address to the RIGHT one and back; returns a one-line summary. */
    static String run(long deadlineNanos) throws IOException, InterruptedException {
        InetAddress left = InetAddress.getByName(LEFT);
        InetAddress right = InetAddress.getByName(RIGHT);
        int echoed = udp(left, right, deadlineNanos);
        if (echoed == 0) {
            throw new UserError("no UDP datagram came back through the training tunnels");
        }
        tcp(left, right, deadlineNanos);
        return echoed + " of " + (LONE + BURSTS * BURST) + " UDP datagrams echoed, " + (TCP_BYTES >> 20)
                + " MiB of TCP each way";
    }

    private static int udp(InetAddress left, InetAddress right, long deadline) throws IOException, InterruptedException {
        try (DatagramSocket server = new DatagramSocket(new InetSocketAddress(right, UDP_PORT));
             DatagramSocket client = new DatagramSocket(new InetSocketAddress(left, 0))) {
            server.setSoTimeout(200);
            client.setSoTimeout(500);
            Thread echo = Thread.ofPlatform().name("train-echo").start(() -> {
                DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
                while (!server.isClosed() && System.nanoTime() < deadline) {
                    try {
                        p.setLength(2048);
                        server.receive(p);
                        server.send(p);
                    } catch (SocketTimeoutException e) {
                        // look at the deadline again
                    } catch (IOException e) {
                        return;   // closed
                    }
                }
            });
            byte[] out = new byte[MAX_UDP];
            DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
            InetSocketAddress to = new InetSocketAddress(right, UDP_PORT);
            int echoed = 0;
            for (int i = 0; i < LONE && System.nanoTime() < deadline; i++) {
                client.send(new DatagramPacket(out, 1 + (i * 97) % MAX_UDP, to));
                echoed += receive(client, in, 1);
            }
            for (int b = 0; b < BURSTS && System.nanoTime() < deadline; b++) {
                for (int i = 0; i < BURST; i++) {
                    client.send(new DatagramPacket(out, 1 + ((b * BURST + i) * 389) % MAX_UDP, to));
                }
                echoed += receive(client, in, BURST);
            }
            server.close();
            echo.join(TimeUnit.SECONDS.toMillis(5));
            return echoed;
        }
    }

    /** Receives up to {@code count} datagrams, giving up at the first timeout (a lost one); returns how many came. */
    private static int receive(DatagramSocket socket, DatagramPacket in, int count) throws IOException {
        for (int n = 0; n < count; n++) {
            try {
                in.setLength(in.getData().length);
                socket.receive(in);
            } catch (SocketTimeoutException e) {
                return n;
            }
        }
        return count;
    }

    /** TCP_BYTES from LEFT to RIGHT, then as many back on the same connection. */
    private static void tcp(InetAddress left, InetAddress right, long deadline) throws IOException, InterruptedException {
        int timeout = (int) Math.max(1000, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        try (ServerSocket listener = new ServerSocket()) {
            listener.bind(new InetSocketAddress(right, TCP_PORT));
            listener.setSoTimeout(timeout);
            IOException[] failed = {null};
            Thread server = Thread.ofPlatform().name("train-tcp").start(() -> {
                try (Socket s = listener.accept()) {
                    s.setSoTimeout(timeout);
                    drain(s.getInputStream(), TCP_BYTES);
                    fill(s.getOutputStream(), TCP_BYTES);
                } catch (IOException e) {
                    failed[0] = e;
                }
            });
            try (Socket s = new Socket()) {
                s.bind(new InetSocketAddress(left, 0));
                s.connect(new InetSocketAddress(right, TCP_PORT), timeout);
                s.setSoTimeout(timeout);
                fill(s.getOutputStream(), TCP_BYTES);
                drain(s.getInputStream(), TCP_BYTES);
            } catch (IOException e) {
                throw new UserError("TCP through the training tunnels failed: " + e);
            } finally {
                listener.close();
                server.join(timeout);
            }
            if (failed[0] != null) {
                throw new UserError("TCP through the training tunnels failed: " + failed[0]);
            }
        }
    }

    private static void fill(OutputStream out, int bytes) throws IOException {
        byte[] chunk = new byte[64 << 10];
        for (int sent = 0; sent < bytes; sent += chunk.length) {
            out.write(chunk, 0, Math.min(chunk.length, bytes - sent));
        }
        out.flush();
    }

    private static void drain(InputStream in, int bytes) throws IOException {
        byte[] chunk = new byte[64 << 10];
        for (int got = 0; got < bytes; ) {
            int n = in.read(chunk, 0, Math.min(chunk.length, bytes - got));
            if (n < 0) {
                throw new IOException("connection closed after " + got + " of " + bytes + " bytes");
            }
            got += n;
        }
    }
}
