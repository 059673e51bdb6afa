package dev.patchcord.transport;

import org.junit.jupiter.api.Test;

import java.io.Closeable;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.patchcord.transport.TcpAdmission.Reason.*;
import static org.assertj.core.api.Assertions.assertThat;

class TcpAdmissionTest {
    private static final long S = 1_000_000_000L;
    private final AtomicInteger closedCount = new AtomicInteger();
    private final List<Closeable> closers = new ArrayList<>();

    private Closeable closer() {
        boolean[] closed = {false};
        Closeable c = () -> {
            if (!closed[0]) {
                closed[0] = true;
                closedCount.incrementAndGet();
            }
        };
        closers.add(c);
        return c;
    }

    private static InetAddress address(int i) throws UnknownHostException {
        return InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
    }

    @Test
    void oneAddressGetsAFewUnauthenticatedConnectionsAndTheRestAreRefused() throws Exception {
        TcpAdmission a = new TcpAdmission();
        int admitted = 0;
        for (int i = 0; i < TcpAdmission.MAX_UNAUTHENTICATED_PER_ADDRESS + 20; i++) {
            if (a.admit(address(1), 0, closer()) != null) {
                admitted++;
            }
        }
        assertThat(admitted).isEqualTo(TcpAdmission.MAX_UNAUTHENTICATED_PER_ADDRESS);
        assertThat(a.counted(PER_ADDRESS)).isEqualTo(20);
        assertThat(a.admit(address(2), 0, closer())).as("another address is not affected").isNotNull();
    }

    @Test
    void aFloodFromManyAddressesEvictsTheOldestAndStaysBounded() throws Exception {
        TcpAdmission a = new TcpAdmission();
        List<TcpAdmission.Slot> slots = new ArrayList<>();
        int n = TcpAdmission.MAX_UNAUTHENTICATED * 5;
        for (int i = 0; i < n; i++) {
            slots.add(a.admit(address(i), i, closer()));
        }
        assertThat(slots).doesNotContainNull();
        assertThat(a.unauthenticated()).isEqualTo(TcpAdmission.MAX_UNAUTHENTICATED);
        assertThat(a.counted(EVICTED)).isEqualTo(n - TcpAdmission.MAX_UNAUTHENTICATED);
        assertThat(closedCount.get()).as("evicted connections are closed").isEqualTo(n - TcpAdmission.MAX_UNAUTHENTICATED);
        // The newest survive: an authenticated message on the last one still counts.
        a.authenticated(slots.get(n - 1), n);
        assertThat(a.unauthenticated()).isEqualTo(TcpAdmission.MAX_UNAUTHENTICATED - 1);
        assertThat(a.open()).isEqualTo(TcpAdmission.MAX_UNAUTHENTICATED);
    }

    @Test
    void authenticatedConnectionsAreNotEvictedAndLeaveTheAddressItsSlots() throws Exception {
        TcpAdmission a = new TcpAdmission();
        TcpAdmission.Slot peer = a.admit(address(1), 0, closer());
        a.authenticated(peer, 1);
        for (int i = 0; i < TcpAdmission.MAX_UNAUTHENTICATED * 2; i++) {
            a.admit(address(1000 + i), 2, closer());
        }
        for (int i = 0; i < TcpAdmission.MAX_UNAUTHENTICATED_PER_ADDRESS; i++) {
            assertThat(a.admit(address(1), 3, closer())).as("slot %d of the authenticated peer's address", i).isNotNull();
        }
        assertThat(a.open()).isEqualTo(TcpAdmission.MAX_UNAUTHENTICATED + 1);
        a.sweep(4);
        assertThat(a.open()).as("nothing expired yet").isEqualTo(TcpAdmission.MAX_UNAUTHENTICATED + 1);
    }

    @Test
    void unauthenticatedConnectionsExpireQuicklyAndIdleOnesLater() throws Exception {
        TcpAdmission a = new TcpAdmission();
        TcpAdmission.Slot lazy = a.admit(address(1), 0, closer());
        TcpAdmission.Slot peer = a.admit(address(2), 0, closer());
        a.authenticated(peer, S);
        assertThat(lazy).isNotNull();
        assertThat(a.sweep(TcpAdmission.AUTHENTICATE_WITHIN_NANOS - 1)).isZero();
        assertThat(a.sweep(TcpAdmission.AUTHENTICATE_WITHIN_NANOS)).isEqualTo(1);
        assertThat(a.counted(UNAUTHENTICATED_TIMEOUT)).isEqualTo(1);
        assertThat(closedCount.get()).isEqualTo(1);
        a.authenticated(peer, 100 * S);
        assertThat(a.sweep(100 * S + TcpAdmission.IDLE_NANOS - 1)).as("still in use").isZero();
        assertThat(a.sweep(100 * S + TcpAdmission.IDLE_NANOS)).isEqualTo(1);
        assertThat(a.counted(IDLE_TIMEOUT)).isEqualTo(1);
        assertThat(a.open()).isZero();
        assertThat(a.summary()).isEqualTo("unauthenticated-timeout 1, idle-timeout 1");
    }

    @Test
    void theTotalIsBoundedAndAClosedConnectionFreesItsSlot() throws Exception {
        TcpAdmission a = new TcpAdmission();
        List<TcpAdmission.Slot> slots = new ArrayList<>();
        for (int i = 0; i < TcpAdmission.MAX_CONNECTIONS; i++) {
            TcpAdmission.Slot s = a.admit(address(i), i, closer());
            a.authenticated(s, i);
            slots.add(s);
        }
        assertThat(a.admit(address(1 << 20), 0, closer())).isNull();
        assertThat(a.counted(FULL)).isEqualTo(1);
        a.closed(slots.get(0));
        a.closed(slots.get(0)); // twice: counted once
        assertThat(a.open()).isEqualTo(TcpAdmission.MAX_CONNECTIONS - 1);
        assertThat(a.admit(address(1 << 20), 0, closer())).isNotNull();
    }
}
