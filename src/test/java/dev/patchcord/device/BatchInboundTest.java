package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.PeerEndpoint;
import dev.patchcord.transport.Transport;
import dev.patchcord.transport.UdpBatch;
import dev.patchcord.transport.UdpSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.lab.Lab.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batched network-to-interface path ({@link BatchInbound}) on loopback, no root
 * ({@link LoopbackTunnel}). A {@link Gate} in front of B's socket holds the receiving loop while
 * a test sends, so that what it sent is taken by one recvmmsg, and says how many buffers each
 * receive filled. Run with batches alone, and with UDP GSO, GRO and the cipher pool's worker
 * threads as well.
 */
@Timeout(30)
class BatchInboundTest {
    private LoopbackTunnel t;
    private Gate gate;
    /** The gate's count of receives when the last batch was let in. */
    private int openedAt;

    private void start(String offloads) throws Exception {
        t = new LoopbackTunnel(true);
        gate = new Gate(t.socket, t.wakeup);
        t.start(Offloads.parse(offloads), new PeerEndpoints(), gate);
        t.handshakeFromA();
    }

    @AfterEach
    void stop() throws Exception {
        if (t != null) {
            t.stop();
        }
    }

    @LoopbackTunnel.EachBatchingOffloads
    void datagramsTakenInOneReceiveReachTheInterfaceInOrder(String offloads) throws Exception {
        start(offloads);
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < BatchInbound.SLOTS + 8; i++) {
            sent.add(ipv4(1, 2, 60 + i));
        }
        List<Integer> sizes = batch(() -> {
            for (byte[] packet : sent) {
                t.send(t.here, t.seal(packet));
            }
        });
        for (int i = 0; i < sent.size(); i++) {
            assertThat(t.next()).as("packet %d", i).isEqualTo(sent.get(i));
        }
        assertThat(sizes).as("a full batch, then the rest").startsWith(BatchInbound.SLOTS, 8);
        assertThat(t.p.b.counters().droppedTotal()).isZero();
    }

    @LoopbackTunnel.EachBatchingOffloads
    void badDatagramsInABatchAreCountedByReasonAndTheGoodOnesAroundThemArrive(String offloads) throws Exception {
        start(offloads);
        List<byte[]> good = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            good.add(ipv4(1, 2, 30 + i));
        }
        List<Integer> sizes = batch(() -> {
            byte[] first = t.seal(good.get(0));
            t.send(t.here, first);
            t.send(t.here, first); // again: a replay
            t.send(t.here, t.seal(good.get(1)));
            byte[] otherIndex = t.seal(ipv4(1, 2, 50));
            otherIndex[4] ^= 0x5a; // a receiver index B never gave out
            t.send(t.here, otherIndex);
            t.send(t.here, t.seal(good.get(2)));
            byte[] forged = t.seal(ipv4(1, 2, 51));
            forged[forged.length - 1] ^= 1; // the tag no longer matches
            t.send(t.here, forged);
            t.send(t.here, t.seal(good.get(3)));
            t.send(t.here, t.seal(ipv4(7, 2, 52))); // from an address A may not use
            t.send(t.here, t.seal(good.get(4)));
            t.send(t.here, new byte[]{4, 0, 0}); // too short for any message
            t.send(t.here, t.seal(good.get(5)));
        });
        for (int i = 0; i < good.size(); i++) {
            assertThat(t.next()).as("good packet %d", i).isEqualTo(good.get(i));
        }
        assertThat(sizes).as("all in one receive").startsWith(11);
        t.assertDroppedOnceEach(Drop.REPLAYED, Drop.UNKNOWN_INDEX, Drop.BAD_AUTH, Drop.NOT_ALLOWED, Drop.BAD_MESSAGE);
        assertThat(t.device.received).as("nothing else delivered").isEmpty();
    }

    @LoopbackTunnel.EachBatchingOffloads
    void withinABatchEachDatagramIsFromItsOwnSourceAndOnlyAuthenticatedOnesMoveThePeer(String offloads)
            throws Exception {
        start(offloads);
        int here = LoopbackTunnel.port(t.here);
        int there = LoopbackTunnel.port(t.there);
        byte[] stay = ipv4(1, 2, 70);
        batch(() -> {
            byte[] old = t.seal(stay);
            t.send(t.here, old);
            t.send(t.there, old); // a replay proves nothing about A
            byte[] forged = t.seal(ipv4(1, 2, 72));
            forged[forged.length - 1] ^= 1;
            t.send(t.there, forged); // nor does a bad tag
        });
        assertThat(t.next()).isEqualTo(stay);
        awaitBatchDone();
        t.assertDroppedOnceEach(Drop.REPLAYED, Drop.BAD_AUTH);
        assertThat(endpointPort()).as("unauthenticated datagrams do not move A").isEqualTo(here);

        byte[] moved = ipv4(1, 2, 73);
        List<Integer> sizes = batch(() -> {
            t.send(t.here, t.seal(ipv4(1, 2, 74)));
            t.send(t.there, t.seal(moved)); // the last authenticated one of the batch: A is there now
        });
        t.next();
        assertThat(t.next()).isEqualTo(moved);
        assertThat(sizes).startsWith(2);
        assertThat(endpointPort()).as("an authenticated datagram from elsewhere moves A").isEqualTo(there);
        assertThat(t.answerArrivesAt(t.there)).as("B's packets follow A").isTrue();
    }

    private int endpointPort() {
        return t.tunnel.endpoint(t.p.aAtB).describe().getPort();
    }

    /** Something a test sends. */
    private interface Sends {
        void run() throws Exception;
    }

    /**
     * Sends what {@code sends} sends while the receiving loop waits at the gate, then lets it
     * receive: the sizes of the receives from then on (the first took what the test sent, up to
     * {@link BatchInbound#SLOTS}). To get the loop to the gate, a packet from A is sent first and
     * delivered: the loop was either waiting in a receive, which takes it, or at the gate already.
     */
    private List<Integer> batch(Sends sends) throws Exception {
        gate.held = true;
        byte[] primer = ipv4(1, 2, 90);
        t.send(t.here, t.seal(primer));
        assertThat(await(LoopbackTunnel.WAIT, () -> gate.parked || !t.device.received.isEmpty())).isTrue();
        if (t.device.received.isEmpty()) {
            gate.permits.release(); // at the gate before the packet came: let it take that one
        }
        assertThat(t.next()).as("the packet that brings the loop to the gate").isEqualTo(primer);
        assertThat(await(LoopbackTunnel.WAIT, () -> gate.parked)).as("the loop waits at the gate").isTrue();
        gate.sizes.clear();
        sends.run();
        openedAt = gate.entries.get();
        gate.held = false;
        gate.permits.release();
        return gate.sizes;
    }

    /** Waits until the loop is past the batch let in last: everything in it has been acted on. */
    private void awaitBatchDone() {
        assertThat(await(LoopbackTunnel.WAIT, () -> gate.entries.get() > openedAt)).as("the batch is done").isTrue();
    }

    /**
     * Stands in front of B's socket: while {@link #held}, the receiving loop waits here before its
     * next receive, until a permit is given. Everything else goes to the socket as it is.
     */
    private static final class Gate implements Transport {
        final Semaphore permits = new Semaphore(0);
        final List<Integer> sizes = new CopyOnWriteArrayList<>();
        /** Receives begun. */
        final AtomicInteger entries = new AtomicInteger();
        volatile boolean held;
        volatile boolean parked;
        private final UdpSocket socket;
        private final Wakeup wakeup;

        Gate(UdpSocket socket, Wakeup wakeup) {
            this.socket = socket;
            this.wakeup = wakeup;
        }

        @Override
        public int receive(UdpBatch batch) throws SysException {
            entries.incrementAndGet();
            if (held) {
                parked = true;
                try {
                    while (!permits.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                        if (wakeup.signalled()) {
                            return -1;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -1;
                } finally {
                    parked = false;
                }
            }
            int m = socket.receive(batch);
            if (m > 0) {
                sizes.add(m);
            }
            return m;
        }

        @Override
        public int send(UdpBatch batch, int count) {
            return socket.send(batch, count);
        }

        @Override
        public int send(MemorySegment buf, long off, int len, MemorySegment to) {
            return socket.send(buf, off, len, to);
        }

        @Override
        public int send(PeerEndpoint to, MemorySegment buf, long off, int len) {
            return socket.send(to, buf, off, len);
        }

        @Override
        public MemorySegment batchAddress(PeerEndpoint to) {
            return socket.batchAddress(to);
        }

        @Override
        public int port() {
            return socket.port();
        }

        @Override
        public void close() {
        }
    }
}
