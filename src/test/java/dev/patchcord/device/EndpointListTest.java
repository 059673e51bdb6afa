package dev.patchcord.device;

import dev.patchcord.transport.Endpoint;
import dev.patchcord.transport.SockAddr;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A peer with several endpoints: which one each handshake initiation goes to, driven by the
 * peer's count of unanswered initiations as the handshake code keeps it.
 */
class EndpointListTest {
    private static InetSocketAddress at(String ip, int port) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(ip), port);
    }

    private static EndpointList.Entry literal(String ip, int port) {
        return new EndpointList.Entry(ip + ":" + port, null, port);
    }

    private static EndpointList three() throws Exception {
        return new EndpointList(List.of(literal("10.0.0.1", 1), literal("10.0.0.2", 2), literal("10.0.0.3", 3)),
                List.of(at("10.0.0.1", 1), at("10.0.0.2", 2), at("10.0.0.3", 3)), 0);
    }

    /** Where initiations 1..n (unanswered counts 1..n) go, as entry indexes. */
    private static List<Integer> route(EndpointList l, int from, int to) {
        List<Integer> out = new ArrayList<>();
        for (int u = from; u <= to; u++) {
            l.initiation(u);
            out.add(l.index());
        }
        return out;
    }

    @Test
    void twoUnansweredInitiationsMoveToTheNextEntryRoundTheList() throws Exception {
        EndpointList l = three();
        assertThat(route(l, 1, 8)).containsExactly(0, 0, 1, 1, 2, 2, 0, 0);
    }

    @Test
    void anAnsweredHandshakeStaysWhereItIsAndCountingStartsAgain() throws Exception {
        EndpointList l = three();
        assertThat(route(l, 1, 4)).containsExactly(0, 0, 1, 1);
        // The handshake to entry 1 completed: the count starts again from 1 for the next one.
        assertThat(route(l, 1, 2)).as("stays on the entry that answered").containsExactly(1, 1);
        assertThat(route(l, 3, 3)).containsExactly(2);
    }

    @Test
    void aHandshakeThatCompletesBetweenPollAndCountMovesNothing() throws Exception {
        EndpointList l = three();
        route(l, 1, 4);
        assertThat(l.initiation(0)).isEqualTo(-1);
        assertThat(l.index()).isEqualTo(1);
        assertThat(route(l, 1, 3)).containsExactly(1, 1, 2);
    }

    @Test
    void aNewAttemptAfterGivingUpKeepsRotating() throws Exception {
        // The count only goes back to zero when a handshake completes, so a fresh attempt for new
        // traffic (after one gave up) goes on where the last one left off.
        EndpointList l = three();
        assertThat(route(l, 1, 20)).containsExactly(0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 0, 0);
    }

    @Test
    void listsAreChecked() throws Exception {
        assertThatThrownBy(() -> new EndpointList(List.of(literal("10.0.0.1", 1)), List.of(at("10.0.0.1", 1)), 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new EndpointList(List.of(literal("10.0.0.1", 1), literal("10.0.0.2", 2)),
                Arrays.asList(null, null), 2)).isInstanceOf(IllegalArgumentException.class);
        assertThat(three().text()).isEqualTo("10.0.0.1:1, 10.0.0.2:2, 10.0.0.3:3");
    }

    @Test
    void thePeerAddressFollowsTheListAndStartsWhereItIsTold() throws Exception {
        PeerAddress a = new PeerAddress(null, true);
        a.setList(new EndpointList(List.of(literal("10.0.0.1", 1), literal("10.0.0.2", 2)),
                List.of(at("10.0.0.1", 1), at("10.0.0.2", 2)), 1));
        assertThat(a.describe()).isEqualTo(at("10.0.0.2", 2));
        assertThat(a.initiation(1)).isNull();
        assertThat(a.initiation(2)).isNull();
        MemorySegment before = a.current();
        assertThat(a.initiation(3)).isEqualTo(literal("10.0.0.1", 1));
        assertThat(a.describe()).isEqualTo(at("10.0.0.1", 1));
        assertThat(a.current()).isNotSameAs(before);
        assertThat(a.host()).isNull();
    }

    @Test
    void roamingIsKeptUntilHandshakesFailThenTheListGoesOn() throws Exception {
        PeerAddress a = new PeerAddress(null, true);
        a.setList(three());
        MemorySegment from = Arena.ofAuto().allocate(Endpoint.SIZE, 8);
        SockAddr.encode(at("10.9.9.9", 9), from.asSlice(0, SockAddr.SIZE));
        assertThat(a.observe(from)).isTrue();
        assertThat(a.describe()).as("an authenticated packet from elsewhere moves the peer").isEqualTo(at("10.9.9.9", 9));
        assertThat(a.initiation(1)).isNull();
        assertThat(a.describe()).isEqualTo(at("10.9.9.9", 9));
        a.initiation(2);
        assertThat(a.initiation(3)).isEqualTo(literal("10.0.0.2", 2));
        assertThat(a.describe()).isEqualTo(at("10.0.0.2", 2));
    }

    @Test
    void aHostNameEntryIsLookedUpWhenItsTurnComes() throws Exception {
        PeerAddress a = new PeerAddress(null, true);
        EndpointList.Entry named = new EndpointList.Entry("localhost:7", "localhost", 7);
        a.setList(new EndpointList(List.of(literal("10.0.0.1", 1), named), Arrays.asList(at("10.0.0.1", 1), null), 0));
        assertThat(a.host()).isNull();
        a.lookupStarting(5);
        a.initiation(1);
        a.initiation(2);
        assertThat(a.initiation(3)).isEqualTo(named);
        assertThat(a.describe()).as("no address known yet: the old one stays until the lookup").isEqualTo(at("10.0.0.1", 1));
        assertThat(a.host()).isEqualTo("localhost");
        assertThat(a.sinceLookup(100)).as("due at once").isEqualTo(-1);
        InetSocketAddress found = a.reresolve();
        assertThat(found).isNotNull();
        assertThat(found.getPort()).isEqualTo(7);
        assertThat(a.describe()).isEqualTo(found);
        assertThat(a.list().address(1)).as("remembered for the next round").isEqualTo(found);
    }

    @Test
    void wgSetReplacesTheListWithOneEndpoint() throws Exception {
        PeerAddress a = new PeerAddress(null, true);
        a.setList(new EndpointList(List.of(new EndpointList.Entry("localhost:7", "localhost", 7), literal("10.0.0.2", 2)),
                List.of(at("127.0.0.1", 7), at("10.0.0.2", 2)), 0));
        assertThat(a.host()).isEqualTo("localhost");
        a.replace(at("10.0.0.5", 5));
        assertThat(a.list()).isNull();
        assertThat(a.host()).as("nothing left to look up").isNull();
        assertThat(a.describe()).isEqualTo(at("10.0.0.5", 5));
        for (int u = 1; u < 10; u++) {
            assertThat(a.initiation(u)).isNull();
        }
        assertThat(a.describe()).isEqualTo(at("10.0.0.5", 5));
    }

    @Test
    void withoutAListReplacingKeepsTheHostNameAsBefore() throws Exception {
        PeerAddress a = new PeerAddress(at("127.0.0.1", 7), true);
        a.setHost("localhost", 7);
        a.replace(at("10.0.0.5", 5));
        assertThat(a.host()).isEqualTo("localhost");
        assertThat(a.initiation(3)).isNull();
    }
}
