package dev.patchcord.lab;

import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The UDP echo over loopback: a server answering, one that stays silent, and the report's format. */
class EchoTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void everyRequestIsAnsweredAndTimed() throws Exception {
        try (DatagramSocket server = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            CompletableFuture<Long> answered = serveInBackground(server);
            Echo.Report r = Echo.probe((InetSocketAddress) server.getLocalSocketAddress(), 3, Duration.ofMillis(20),
                    Duration.ofSeconds(5));
            assertThat(r.sent()).isEqualTo(3);
            assertThat(r.received()).isEqualTo(3);
            assertThat(r.minNanos()).isPositive().isLessThanOrEqualTo(r.maxNanos());
            assertThat(r.totalNanos()).isBetween(r.minNanos() * 3, r.maxNanos() * 3);
            assertThat(r.toString()).matches("3 sent, 3 received, 0% loss, rtt min/avg/max = [0-9.]+/[0-9.]+/[0-9.]+ ms");
            server.close();
            assertThat(answered.get(10, TimeUnit.SECONDS)).isEqualTo(3);
        }
    }

    @Test
    void withNoAnswerEveryRequestIsLostAfterItsTimeout() throws Exception {
        // A bound socket that never answers: the requests are delivered and ignored.
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            long start = System.nanoTime();
            Echo.Report r = Echo.probe((InetSocketAddress) silent.getLocalSocketAddress(), 2, Duration.ZERO,
                    Duration.ofMillis(200));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(400), Duration.ofSeconds(5));
            assertThat(r.received()).isZero();
            assertThat(r.toString()).isEqualTo("2 sent, 0 received, 100% loss");
        }
    }

    @Test
    void theServerIgnoresWhatIsNotARequest() throws Exception {
        try (DatagramSocket server = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
             DatagramSocket client = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            CompletableFuture<Long> answered = serveInBackground(server);
            client.connect(server.getLocalSocketAddress());
            byte[] reply = new EchoMessage(EchoMessage.Kind.REPLY, 1, 1).encode();
            byte[] request = new EchoMessage(EchoMessage.Kind.REQUEST, 1, 2).encode();
            for (byte[] b : new byte[][]{reply, "garbage".getBytes(), new byte[0], new byte[100], request}) {
                client.send(new DatagramPacket(b, b.length));
            }
            byte[] buf = new byte[64];
            DatagramPacket got = new DatagramPacket(buf, buf.length);
            client.setSoTimeout(5000);
            client.receive(got);
            // The first and only answer is to the request, sent last.
            assertThat(EchoMessage.parse(buf, 0, got.getLength())).contains(new EchoMessage(EchoMessage.Kind.REPLY, 1, 2));
            server.close();
            assertThat(answered.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        }
    }

    @Test
    void lossIsAWholePercentage() {
        assertThat(new Echo.Report(3, 2, 1_000_000, 3_000_000, 2_000_000).toString())
                .isEqualTo("3 sent, 2 received, 33% loss, rtt min/avg/max = 1.000/1.500/2.000 ms");
        assertThat(new Echo.Report(0, 0, 0, 0, 0).lossPercent()).isZero();
    }

    @Test
    void badArgumentsAreRefused() {
        InetSocketAddress to = new InetSocketAddress(LOOPBACK, 9);
        assertThatThrownBy(() -> Echo.probe(to, 0, Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Echo.probe(to, 1, Duration.ZERO, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static CompletableFuture<Long> serveInBackground(DatagramSocket server) {
        CompletableFuture<Long> answered = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                answered.complete(Echo.serve(server, Duration.ofSeconds(30)));
            } catch (Throwable t) {
                answered.completeExceptionally(t);
            }
        });
        return answered;
    }
}
