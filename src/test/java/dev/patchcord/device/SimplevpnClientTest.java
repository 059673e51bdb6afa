package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.StreamSocket;
import dev.patchcord.testing.QueueDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.patchcord.lab.Lab.await;
import static dev.patchcord.testing.TestPackets.ipv4;
import static dev.patchcord.testing.TestPackets.ipv6;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Clients and the hub on loopback, with in-memory devices instead of TUN interfaces: no root needed. */
@Timeout(60)
class SimplevpnClientTest {
    private static final int A254 = 0x0A00FEFE, A253 = 0x0A00FEFD, A1_5 = 0x0A000105;

    private record Node(SimplevpnClient client, QueueDevice device, Wakeup wakeup, List<String> addresses,
                        ByteArrayOutputStream log) {
        String logText() {
            return log.toString(StandardCharsets.UTF_8);
        }
    }

    private final List<Wakeup> wakeups = new ArrayList<>();
    private final List<Loops> running = new ArrayList<>();
    private int port;
    private Wakeup hubWakeup;

    private SimplevpnHub hub(int bindPort) throws Exception {
        Wakeup w = new Wakeup();
        wakeups.add(w);
        hubWakeup = w;
        StreamSocket server = StreamSocket.listen(InetAddress.getLoopbackAddress(), bindPort);
        port = server.localPort();
        SimplevpnHub hub = new SimplevpnHub(server, w, new PrintStream(new ByteArrayOutputStream()), "hub: ", false);
        hub.start();
        running.add(hub);
        return hub;
    }

    private Node client(int staticAddress) throws Exception {
        Wakeup w = new Wakeup();
        wakeups.add(w);
        Wakeup packets = w.child();
        QueueDevice device = new QueueDevice(packets);
        List<String> addresses = new CopyOnWriteArrayList<>();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        SimplevpnClient client = new SimplevpnClient(device, "127.0.0.1",
                new InetSocketAddress(InetAddress.getLoopbackAddress(), port), staticAddress,
                (previous, assigned) -> addresses.add(ControlMessage.format(previous) + ">" + ControlMessage.format(assigned)),
                w, packets, new PrintStream(log, true, StandardCharsets.UTF_8), "client: ", false, new Counters());
        return new Node(client, device, w, addresses, log);
    }

    private Node started(int staticAddress) throws Exception {
        Node n = client(staticAddress);
        assertThat(n.client().connect()).isNotEqualTo(ControlMessage.NONE);
        n.client().start();
        running.add(n.client());
        return n;
    }

    @AfterEach
    void stopAll() throws Exception {
        for (Wakeup w : wakeups) {
            w.signal();
        }
        for (Loops l : running) {
            assertThat(l.awaitStopped(5, TimeUnit.SECONDS)).as("loops stop").isTrue();
            assertThat(l.failure()).isNull();
        }
        for (Wakeup w : wakeups) {
            w.close();
        }
    }

    @Test
    void twoClientsGetAddressesAndExchangePacketsThroughTheHub() throws Exception {
        hub(0);
        Node a = started(ControlMessage.NONE);
        Node b = started(ControlMessage.NONE);
        assertThat(a.addresses()).containsExactly("0.0.0.0>10.0.254.254");
        assertThat(b.addresses()).containsExactly("0.0.0.0>10.0.254.253");
        byte[] p = ipv4(A254, A253, 1200);
        a.device().toSend.add(p);
        assertThat(b.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(p);
        byte[] q = ipv4(A253, A254, 60);
        b.device().toSend.add(q);
        assertThat(a.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(q);
        // IPv6 stays home: the server routes on IPv4 addresses only.
        a.device().toSend.add(ipv6(8, 0));
        assertThat(await(Duration.ofSeconds(5), () -> a.client().counters().dropped(dev.patchcord.core.Drop.NO_ROUTE) == 1)).isTrue();
        assertThat(a.client().counters().txPackets()).isEqualTo(1);
        assertThat(b.client().counters().rxPackets()).isEqualTo(1);
    }

    @Test
    void aStaticAddressIsGrantedAndARefusalOnTheFirstConnectionIsFinal() throws Exception {
        hub(0);
        Node a = started(A1_5);
        assertThat(a.addresses()).containsExactly("0.0.0.0>10.0.1.5");
        Node b = client(A1_5);
        assertThatThrownBy(() -> b.client().connect()).isInstanceOf(StaticAddressRefused.class)
                .hasMessage("requested static address 10.0.1.5 is already in use or not in the pool");
    }

    @Test
    void clientsReconnectToTheSamePortAndTakeTheirNewAddresses() throws Exception {
        SimplevpnHub first = hub(0);
        int fixedPort = port;
        Node a = started(ControlMessage.NONE);
        Node b = started(ControlMessage.NONE);
        hubWakeup.signal(); // as SIGTERM does
        assertThat(first.awaitStopped(5, TimeUnit.SECONDS)).isTrue();
        assertThat(await(Duration.ofSeconds(5), () -> a.logText().contains("lost") && b.logText().contains("lost")))
                .as(a.logText() + b.logText()).isTrue();
        hub(fixedPort);
        assertThat(await(Duration.ofSeconds(15), () -> a.addresses().size() + b.addresses().size() >= 3
                || a.logText().contains("again") && b.logText().contains("again")))
                .as(a.logText() + b.logText()).isTrue();
        // Whoever came back first got .254; both have an address from the new server and can talk.
        assertThat(await(Duration.ofSeconds(15), () -> a.logText().split("connected to").length == 3
                && b.logText().split("connected to").length == 3)).as(a.logText() + b.logText()).isTrue();
        int addrA = last(a), addrB = last(b);
        assertThat(List.of(addrA, addrB)).containsExactlyInAnyOrder(A254, A253);
        byte[] p = ipv4(addrA, addrB, 100);
        a.device().toSend.add(p);
        assertThat(b.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(p);
    }

    @Test
    void aPausedClientResumesOrHandsItsConnectionToAnotherWithoutTheHubNoticing() throws Exception {
        hub(0);
        Node a = started(ControlMessage.NONE);
        Node b = started(ControlMessage.NONE);
        assertThat(a.client().pause(5_000)).as("loops stop at their next wait").isTrue();
        assertThat(a.client().connection()).as("the connection stays open").isNotNull();
        a.client().resume();
        byte[] p = ipv4(A254, A253, 500);
        a.device().toSend.add(p);
        assertThat(b.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(p);

        // A successor takes the same connection, with whatever a paused reader had read in part.
        assertThat(a.client().pause(5_000)).isTrue();
        Node next = client(ControlMessage.NONE);
        next.client().adoptConnection(a.client().connection(), a.client().address(), a.client().unread());
        next.client().start();
        running.add(next.client());
        byte[] q = ipv4(A253, A254, 700);
        b.device().toSend.add(q);
        assertThat(next.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(q);
        byte[] r = ipv4(A254, A253, 300);
        next.device().toSend.add(r);
        assertThat(b.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(r);
        assertThat(next.addresses()).as("no address set again").isEmpty();
        assertThat(next.logText()).as("no reconnection").doesNotContain("connected to");
    }

    @Test
    void aPausedHubHandsItsListenerAndClientsToAnotherHubWithoutTheClientsNoticing() throws Exception {
        Wakeup w = new Wakeup();
        wakeups.add(w);
        Wakeup packets = w.child();
        StreamSocket server = StreamSocket.listen(InetAddress.getLoopbackAddress(), 0);
        port = server.localPort();
        ByteArrayOutputStream firstLog = new ByteArrayOutputStream();
        SimplevpnHub first = new SimplevpnHub(server, w, packets, new PrintStream(firstLog, true), "hub: ", false);
        first.start();
        Node a = started(ControlMessage.NONE);
        Node b = started(ControlMessage.NONE);
        byte[] p = ipv4(A254, A253, 400);
        a.device().toSend.add(p);
        assertThat(b.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(p);

        // Paused and resumed: it carries on.
        assertThat(first.pause(5_000)).isTrue();
        first.resume();
        a.device().toSend.add(p);
        assertThat(b.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(p);

        assertThat(first.pause(5_000)).isTrue();
        List<SimplevpnHub.ClientState> states = first.handover();
        assertThat(states).hasSize(2);
        Wakeup w2 = new Wakeup();
        wakeups.add(w2);
        SimplevpnHub next = new SimplevpnHub(first.listener(), w2, w2.child(), new PrintStream(new ByteArrayOutputStream()),
                "hub: ", false);
        for (SimplevpnHub.ClientState c : states) {
            next.adoptClient(c.socket(), c.peer(), c.address(), c.unread(), c.unsent());
        }
        next.start();
        running.add(next);
        byte[] q = ipv4(A253, A254, 900);
        b.device().toSend.add(q);
        assertThat(a.device().received.poll(5, TimeUnit.SECONDS)).isEqualTo(q);
        // Its pool holds the adopted addresses: a new client gets the next one.
        Node c = started(ControlMessage.NONE);
        assertThat(c.addresses()).containsExactly("0.0.0.0>10.0.254.252");
        assertThat(a.logText() + b.logText()).doesNotContain("lost");
        assertThat(firstLog.toString(StandardCharsets.UTF_8)).doesNotContain("disconnected");
    }

    /** The address a node holds now, from its listener's record ("old>new"), or its first if unchanged. */
    private static int last(Node n) throws Exception {
        String latest = n.addresses().getLast();
        String dotted = latest.substring(latest.indexOf('>') + 1);
        return ControlMessage.fromBytes(InetAddress.getByName(dotted).getAddress());
    }
}
