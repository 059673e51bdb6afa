package dev.patchcord.core.simplevpn;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedList;
import java.util.List;

import static dev.patchcord.core.simplevpn.AddressPool.Claim.*;
import static org.assertj.core.api.Assertions.assertThat;

/** The original's pool, in the original's order (seed-protocols.md §5.3). */
class AddressPoolTest {
    private static int ip(String dotted) {
        String[] p = dotted.split("\\.");
        return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8 | Integer.parseInt(p[3]);
    }

    private static String take(AddressPool pool) {
        return ControlMessage.format(pool.take());
    }

    @Test
    void firstFiveDynamicAssignmentsCountDownFromTheTop() {
        AddressPool pool = new AddressPool();
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            got.add(take(pool));
        }
        assertThat(got).containsExactly("10.0.254.254", "10.0.254.253", "10.0.254.252", "10.0.254.251", "10.0.254.250");
        assertThat(pool.free()).isEqualTo(AddressPool.SIZE - 5);
    }

    @Test
    void theQuirkyRulesGive64769Addresses() {
        AddressPool pool = new AddressPool();
        assertThat(pool.free()).isEqualTo(64_769);
        int counted = 0;
        for (int slot = 0; slot < 1 << 16; slot++) {
            if (AddressPool.inPool(AddressPool.BASE | slot)) {
                counted++;
            }
        }
        assertThat(counted).isEqualTo(64_769);
        for (String in : List.of("10.0.0.1", "10.0.1.2", "10.0.1.254", "10.0.2.0", "10.0.254.0", "10.0.254.254", "10.0.100.7")) {
            assertThat(AddressPool.inPool(ip(in))).as(in).isTrue();
        }
        for (String out : List.of("10.0.0.0", "10.0.0.2", "10.0.0.254", "10.0.1.0", "10.0.1.1", "10.0.1.255", "10.0.7.255",
                "10.0.255.0", "10.0.255.1", "10.0.255.254", "10.1.0.1", "192.168.7.7", "0.0.0.0", "255.255.255.255")) {
            assertThat(AddressPool.inPool(ip(out))).as(out).isFalse();
        }
    }

    @Test
    void theWholePoolIsHandedOutInDescendingOrderEndingWith10001() {
        AddressPool pool = new AddressPool();
        int previous = ip("10.0.255.0");
        int last = 0;
        for (int i = 0; i < AddressPool.SIZE; i++) {
            int a = pool.take();
            assertThat(Integer.compareUnsigned(a, previous)).isNegative();
            previous = a;
            last = a;
        }
        assertThat(ControlMessage.format(last)).isEqualTo("10.0.0.1");
        assertThat(pool.take()).isEqualTo(ControlMessage.NONE);
        assertThat(pool.free()).isZero();
        // Freed into an empty pool, an address is the next one out.
        assertThat(pool.release(ip("10.0.3.3"))).isTrue();
        assertThat(take(pool)).isEqualTo("10.0.3.3");
    }

    @Test
    void staticRequestsAreGrantedOnlyIfFreeAndInThePool() {
        AddressPool pool = new AddressPool();
        assertThat(pool.claim(ip("10.0.1.5"))).isEqualTo(GRANTED);
        assertThat(pool.claim(ip("10.0.1.5"))).isEqualTo(IN_USE);
        assertThat(pool.claim(ip("10.0.1.1"))).isEqualTo(NOT_IN_POOL);
        assertThat(pool.claim(ip("192.168.7.7"))).isEqualTo(NOT_IN_POOL);
        assertThat(pool.isFree(ip("10.0.1.5"))).isFalse();
        // A static grant does not disturb the dynamic order, and a dynamic one is then in use.
        assertThat(take(pool)).isEqualTo("10.0.254.254");
        assertThat(pool.claim(ip("10.0.254.254"))).isEqualTo(IN_USE);
        assertThat(pool.claim(ip("10.0.254.253"))).isEqualTo(GRANTED);
        assertThat(take(pool)).isEqualTo("10.0.254.252");
    }

    @Test
    void aFreedAddressGoesRightAfterTheFirstEntry() {
        // The verified run: three clients got .254, .253, .252; the second reconnected and got .251.
        AddressPool pool = new AddressPool();
        take(pool);
        int second = pool.take();
        take(pool);
        assertThat(pool.release(second)).isTrue();
        assertThat(take(pool)).isEqualTo("10.0.254.251");
        assertThat(take(pool)).isEqualTo("10.0.254.253");
        assertThat(take(pool)).isEqualTo("10.0.254.250");
    }

    @Test
    void releasingWhatIsFreeOrForeignChangesNothing() {
        AddressPool pool = new AddressPool();
        assertThat(pool.release(ip("10.0.254.254"))).isFalse();
        assertThat(pool.release(ip("10.0.1.1"))).isFalse();
        assertThat(pool.release(ip("8.8.8.8"))).isFalse();
        assertThat(pool.free()).isEqualTo(AddressPool.SIZE);
        assertThat(take(pool)).isEqualTo("10.0.254.254");
    }

    /** Any mix of takes, claims and releases behaves like the original's list, modelled naively. */
    @Property(tries = 300)
    void behavesLikeTheOriginalsList(@ForAll @Size(max = 60) List<@IntRange(min = 0, max = 29) Integer> ops) {
        AddressPool pool = new AddressPool();
        LinkedList<Integer> model = new LinkedList<>();
        for (int slot = (1 << 16) - 1; slot >= 0; slot--) {
            if (AddressPool.inPool(AddressPool.BASE | slot)) {
                model.add(AddressPool.BASE | slot);
            }
        }
        List<Integer> held = new ArrayList<>();
        for (int op : ops) {
            if (op < 10) {
                int a = pool.take();
                assertThat(a).isEqualTo(model.removeFirst());
                held.add(a);
            } else if (op < 20) {
                int wanted = ip("10.0.254." + (240 + op - 10));
                AddressPool.Claim claim = pool.claim(wanted);
                assertThat(claim).isEqualTo(model.remove((Integer) wanted) ? GRANTED : IN_USE);
                if (claim == GRANTED) {
                    held.add(wanted);
                }
            } else if (!held.isEmpty()) {
                int a = held.remove((op - 20) % held.size());
                assertThat(pool.release(a)).isTrue();
                model.add(model.isEmpty() ? 0 : 1, a);
            }
            assertThat(pool.free()).isEqualTo(model.size());
        }
    }
}
