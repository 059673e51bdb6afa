package dev.patchcord.lab;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A UDP echo with round-trip times, for where {@code ping} is not installed: the demo runs the
 * server in one namespace and the probe in the other, so the probes cross the tunnel as ping's
 * would. UDP rather than ICMP because ICMP echo needs a raw or ping socket (privileges, sysctls);
 * the messages are {@link EchoMessage}s.
 */
public final class Echo {
    private Echo() {}

    /** What a probe run saw. Round-trip times are over the replies received. */
    public record Report(int sent, int received, long minNanos, long totalNanos, long maxNanos) {
        public int lossPercent() {
            return sent == 0 ? 0 : (sent - received) * 100 / sent;
        }

        /** Like the summary of ping: "3 sent, 3 received, 0% loss, rtt min/avg/max = 0.210/0.342/0.588 ms". */
        @Override
        public String toString() {
            String counts = String.format(Locale.ROOT, "%d sent, %d received, %d%% loss", sent, received, lossPercent());
            if (received == 0) {
                return counts;
            }
            return counts + String.format(Locale.ROOT, ", rtt min/avg/max = %.3f/%.3f/%.3f ms",
                    minNanos / 1e6, totalNanos / 1e6 / received, maxNanos / 1e6);
        }
    }

    /**
     * Answers every well-formed request arriving on {@code socket} until {@code limit} has passed or
     * the socket is closed; returns how many it answered.
     */
    public static long serve(DatagramSocket socket, Duration limit) throws IOException {
        long deadline = System.nanoTime() + limit.toNanos();
        byte[] buf = new byte[EchoMessage.LENGTH + 1]; // one more, so a longer datagram shows as too long
        DatagramPacket packet = new DatagramPacket(buf, buf.length);
        long answered = 0;
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            try {
                socket.setSoTimeout(millis(left));
                packet.setLength(buf.length);
                socket.receive(packet);
                Optional<EchoMessage> m = EchoMessage.parse(buf, 0, packet.getLength());
                if (m.isPresent() && m.get().kind() == EchoMessage.Kind.REQUEST) {
                    byte[] reply = m.get().reply().encode();
                    socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
                    answered++;
                }
            } catch (SocketTimeoutException e) {
                // the deadline is checked again
            } catch (SocketException e) {
                if (socket.isClosed()) {
                    break; // closed by its owner: the way to stop a server early
                }
                throw e;
            }
        }
        return answered;
    }

    /**
     * Sends {@code count} requests to {@code to}, one every {@code interval}, each waiting at most
     * {@code timeout} for its reply (replies that come later are not counted, as with ping).
     */
    public static Report probe(InetSocketAddress to, int count, Duration interval, Duration timeout) throws IOException {
        if (count < 1 || interval.isNegative() || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("count must be at least 1, interval not negative and timeout positive");
        }
        int session = ThreadLocalRandom.current().nextInt();
        int received = 0;
        long min = Long.MAX_VALUE, total = 0, max = 0;
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.connect(to);
            long next = System.nanoTime();
            for (int seq = 0; seq < count; seq++) {
                sleepUntil(next);
                next += interval.toNanos();
                byte[] request = new EchoMessage(EchoMessage.Kind.REQUEST, session, seq).encode();
                long sentAt = System.nanoTime();
                socket.send(new DatagramPacket(request, request.length));
                long rtt = awaitReply(socket, session, seq, sentAt, sentAt + timeout.toNanos());
                if (rtt >= 0) {
                    received++;
                    min = Math.min(min, rtt);
                    max = Math.max(max, rtt);
                    total += rtt;
                }
            }
        }
        return new Report(count, received, received == 0 ? 0 : min, total, max);
    }

    /** The round-trip time of the reply to {@code sequence}, or -1 if none came by {@code deadline}. */
    private static long awaitReply(DatagramSocket socket, int session, int sequence, long sentAt, long deadline)
            throws IOException {
        byte[] buf = new byte[EchoMessage.LENGTH + 1];
        DatagramPacket packet = new DatagramPacket(buf, buf.length);
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return -1;
            }
            socket.setSoTimeout(millis(left));
            packet.setLength(buf.length);
            try {
                socket.receive(packet);
            } catch (SocketTimeoutException e) {
                return -1;
            } catch (PortUnreachableException e) {
                // Nothing listens (yet): this request is lost; keep waiting out its time, as ping does.
                continue;
            }
            long now = System.nanoTime();
            Optional<EchoMessage> m = EchoMessage.parse(buf, 0, packet.getLength());
            if (m.isPresent() && m.get().equals(new EchoMessage(EchoMessage.Kind.REPLY, session, sequence))) {
                return now - sentAt;
            }
            // A late reply to an earlier request, or not an echo reply: not this one.
        }
    }

    private static int millis(long nanos) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000));
    }

    private static void sleepUntil(long nanoTime) {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            try {
                Thread.sleep(Duration.ofNanos(left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
