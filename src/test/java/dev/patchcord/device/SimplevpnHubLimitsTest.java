package dev.patchcord.device;

import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.StreamSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The simplevpn hub's connection limits, driven past with small values (the real ones are constants). */
class SimplevpnHubLimitsTest {
    private static final int MAX = 6, PER_ADDRESS = 3;
    private static final long REQUEST_WITHIN = 1_000_000_000L;
    private Wakeup wakeup;
    private SimplevpnHub hub;
    private int port;
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final List<SocketChannel> opened = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        wakeup = new Wakeup();
        StreamSocket server = StreamSocket.listen(InetAddress.getByName("127.0.0.1"), 0);
        port = server.localPort();
        hub = new SimplevpnHub(server, wakeup, new PrintStream(logBytes, true, StandardCharsets.UTF_8), "hub: ", false,
                MAX, PER_ADDRESS, REQUEST_WITHIN);
        hub.start();
    }

    @AfterEach
    void stop() throws Exception {
        wakeup.signal();
        assertThat(hub.awaitStopped(5, TimeUnit.SECONDS)).isTrue();
        assertThat(hub.failure()).isNull();
        for (SocketChannel c : opened) {
            c.close();
        }
        wakeup.close();
    }

    /** A connection from 127.0.0.{@code host} (all of 127/8 is loopback on Linux). */
    private SocketChannel connect(int host) throws IOException {
        SocketChannel c = SocketChannel.open();
        opened.add(c);
        c.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) host}), 0));
        c.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
        c.socket().setSoTimeout(5000);
        return c;
    }

    /** Whether the hub serves this connection: a dynamic request is answered (20 bytes at least). */
    private static boolean served(SocketChannel c) throws IOException {
        ByteBuffer request = ByteBuffer.wrap(ControlMessage.dynamicRequest());
        try {
            while (request.hasRemaining()) {
                c.write(request);
            }
            return c.socket().getInputStream().readNBytes(ControlMessage.SIZE).length == ControlMessage.SIZE;
        } catch (IOException e) {
            return false; // reset: the hub closed it
        }
    }

    private static boolean closedByHub(SocketChannel c) throws IOException {
        try {
            return c.socket().getInputStream().read() == -1;
        } catch (IOException e) {
            return true;
        }
    }

    @Test
    void oneAddressGetsAtMostItsShareAndTheRestAreClosedAndCounted() throws Exception {
        for (int i = 0; i < PER_ADDRESS; i++) {
            assertThat(served(connect(1))).as("connection %d", i).isTrue();
        }
        SocketChannel extra = connect(1);
        assertThat(closedByHub(extra)).isTrue();
        assertThat(hub.refusedConnections()).isEqualTo(1);
        assertThat(served(connect(2))).as("another address is not affected").isTrue();
        assertThat(logBytes.toString(StandardCharsets.UTF_8)).contains("refusing connections");
    }

    @Test
    void theTotalIsBoundedAndAClosedClientFreesItsSlot() throws Exception {
        List<SocketChannel> clients = new ArrayList<>();
        for (int i = 0; i < MAX; i++) {
            SocketChannel c = connect(10 + i);
            assertThat(served(c)).isTrue();
            clients.add(c);
        }
        for (int i = 0; i < 5; i++) {
            assertThat(closedByHub(connect(20 + i))).as("connection %d over the limit", i).isTrue();
        }
        assertThat(hub.refusedConnections()).isEqualTo(5);
        clients.get(0).close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        boolean again = false;
        for (int host = 30; !again && System.nanoTime() < deadline; host++) {
            again = served(connect(host));
            if (!again) {
                Thread.sleep(50); // the hub notices the closed connection on its own thread
            }
        }
        assertThat(again).isTrue();
    }

    @Test
    void aConnectionThatAsksForNoAddressIsClosed() throws Exception {
        SocketChannel silent = connect(40);
        SocketChannel asking = connect(41);
        assertThat(served(asking)).isTrue();
        assertThat(closedByHub(silent)).as("closed after the request deadline, not the 5 s read time-out").isTrue();
        assertThat(hub.unrequestedConnections()).isEqualTo(1);
        asking.socket().setSoTimeout(1500);
        try {
            // The second copy of the reply, then nothing: the client with an address stays.
            assertThat(asking.socket().getInputStream().readNBytes(ControlMessage.SIZE)).hasSize(ControlMessage.SIZE);
            asking.socket().getInputStream().read();
            org.assertj.core.api.Assertions.fail("the hub closed a client that has an address");
        } catch (java.net.SocketTimeoutException expected) {
            // still open
        }
    }
}
