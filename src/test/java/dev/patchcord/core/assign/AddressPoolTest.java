package dev.patchcord.core.assign;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.assign.Allocation.Refusal;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AddressPoolTest {
    static final long T0 = 1_767_225_600L; // 2026-01-01, epoch seconds
    static final long TERM = 3600;
    static final Optional<InetAddress> NONE = Optional.empty();

    static byte[] key(int n) {
        byte[] k = new byte[32];
        Arrays.fill(k, (byte) n);
        return k;
    }

    static Optional<InetAddress> ip(String text) {
        return Optional.of(Cidr.parseAddress(text));
    }

    /** 10.9.0.0/24 and fd00:9::/64, the server being .1 and ::1 in each, pushing one route. */
    static AddressPool dualStack() {
        return new AddressPool(Optional.of(Cidr.parse("10.9.0.0/24")), Optional.of(Cidr.parse("fd00:9::/64")),
                List.of(Cidr.parse("10.9.0.1/32"), Cidr.parse("fd00:9::1/128")), TERM,
                List.of(Cidr.parse("192.168.50.0/24")));
    }

    static AddressPool v4Only(String range) {
        return new AddressPool(Optional.of(Cidr.parse(range)), Optional.empty(), List.of(Cidr.parse("10.9.0.1/32")),
                TERM, List.of());
    }

    static Lease granted(Allocation a) {
        assertThat(a).isInstanceOf(Lease.class);
        return (Lease) a;
    }

    static Refusal refused(Allocation a) {
        assertThat(a).isInstanceOf(Refusal.class);
        return (Refusal) a;
    }

    static AddressPool.Want want(boolean v4, boolean v6, Optional<InetAddress> r4, Optional<InetAddress> r6, boolean any) {
        return new AddressPool.Want(v4, v6, r4, r6, any);
    }

    @Test
    void assignsTheLowestFreeAddressesInOrder() {
        AddressPool pool = dualStack();
        for (int i = 1; i <= 3; i++) {
            Lease l = granted(pool.offer(key(i), NONE, NONE, T0));
            assertThat(l.v4()).isEqualTo(ip("10.9.0." + (i + 1)));
            assertThat(l.v6()).isEqualTo(ip("fd00:9::" + (i + 1)));
            assertThat(l.endsAt()).isEqualTo(T0 + TERM);
            assertThat(l.isFor(key(i))).isTrue();
        }
        assertThat(pool.leases()).hasSize(3);
    }

    @Test
    void theSameKeyGetsItsOwnLeaseBackRenewed() {
        AddressPool pool = dualStack();
        Lease first = granted(pool.offer(key(1), NONE, NONE, T0));
        granted(pool.offer(key(2), NONE, NONE, T0));
        Lease again = granted(pool.offer(key(1), NONE, NONE, T0 + 100));
        assertThat(again.v4()).isEqualTo(first.v4());
        assertThat(again.v6()).isEqualTo(first.v6());
        assertThat(again.endsAt()).isEqualTo(T0 + 100 + TERM);
        assertThat(pool.leases()).hasSize(2);
        // a refused fallback keeps the held address too
        Lease kept = granted(pool.offer(key(1), want(true, true, ip("10.9.0.3"), NONE, true), T0 + 200));
        assertThat(kept.v4()).isEqualTo(first.v4());
    }

    @Test
    void aRequestedFreeAddressIsGranted() {
        AddressPool pool = dualStack();
        Lease l = granted(pool.offer(key(1), ip("10.9.0.50"), ip("fd00:9::abcd"), T0));
        assertThat(l.v4()).isEqualTo(ip("10.9.0.50"));
        assertThat(l.v6()).isEqualTo(ip("fd00:9::abcd"));
        assertThat(granted(pool.offer(key(2), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0.2"));
    }

    @Test
    void aRequestedAddressLeasedToAnotherPeerIsRefusedUnlessAnyWillDo() {
        AddressPool pool = dualStack();
        granted(pool.offer(key(1), ip("10.9.0.7"), NONE, T0));
        Refusal r = refused(pool.offer(key(2), ip("10.9.0.7"), NONE, T0));
        assertThat(r.reason()).isEqualTo(NakReason.ADDRESS_IN_USE);
        assertThat(r.text()).isEqualTo("10.9.0.7 is leased to another peer");
        assertThat(pool.lease(key(2))).isEmpty();
        Lease fallback = granted(pool.offer(key(2), want(true, false, ip("10.9.0.7"), NONE, true), T0));
        assertThat(fallback.v4()).isEqualTo(ip("10.9.0.2"));
        assertThat(fallback.v6()).isEmpty();
    }

    @Test
    void addressesThePoolDoesNotHandOutAreRefusedWithTheReason() {
        AddressPool pool = dualStack();
        assertThat(refused(pool.offer(key(1), ip("192.168.1.5"), NONE, T0)))
                .isEqualTo(new Refusal(NakReason.OUT_OF_POOL, "192.168.1.5 is not in the address pool 10.9.0.0/24"));
        assertThat(refused(pool.offer(key(1), ip("10.9.0.0"), NONE, T0)).text())
                .isEqualTo("10.9.0.0 is the network address of 10.9.0.0/24");
        assertThat(refused(pool.offer(key(1), ip("10.9.0.255"), NONE, T0)).text())
                .isEqualTo("10.9.0.255 is the broadcast address of 10.9.0.0/24");
        assertThat(refused(pool.offer(key(1), ip("10.9.0.1"), NONE, T0)).text())
                .isEqualTo("10.9.0.1 is reserved (not in the address pool)");
        assertThat(refused(pool.offer(key(1), NONE, ip("fd00:9::"), T0)).text())
                .isEqualTo("fd00:9:: is the subnet-router anycast address of fd00:9::/64");
        assertThat(refused(pool.offer(key(1), NONE, ip("fd00:8::2"), T0)).reason()).isEqualTo(NakReason.OUT_OF_POOL);
        assertThat(pool.leases()).isEmpty();
    }

    @Test
    void aRefusalChangesNothingAndAFreeRequestMovesTheLease() {
        AddressPool pool = dualStack();
        Lease mine = granted(pool.offer(key(1), NONE, NONE, T0));
        granted(pool.offer(key(2), NONE, NONE, T0));
        refused(pool.offer(key(1), ip("10.9.0.3"), NONE, T0 + 5));
        assertThat(pool.lease(key(1))).contains(mine);
        Lease moved = granted(pool.offer(key(1), ip("10.9.0.9"), NONE, T0 + 5));
        assertThat(moved.v4()).isEqualTo(ip("10.9.0.9"));
        assertThat(moved.v6()).isEqualTo(mine.v6());
        assertThat(granted(pool.offer(key(3), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0.2")); // freed by the move
    }

    @Test
    void anExhaustedPoolRefuses() {
        AddressPool pool = v4Only("10.9.0.0/29"); // .1-.6, .1 the server's: five addresses
        for (int i = 1; i <= 5; i++) {
            assertThat(granted(pool.offer(key(i), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0." + (i + 1)));
        }
        assertThat(refused(pool.offer(key(6), NONE, NONE, T0)))
                .isEqualTo(new Refusal(NakReason.POOL_EXHAUSTED, "the IPv4 pool 10.9.0.0/29 is exhausted"));
        assertThat(refused(pool.offer(key(6), want(true, false, ip("10.9.0.4"), NONE, true), T0)).reason())
                .isEqualTo(NakReason.POOL_EXHAUSTED);
        pool.release(key(3));
        assertThat(granted(pool.offer(key(6), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0.4"));
    }

    @Test
    void dualStackIsAllOrNothing() {
        AddressPool pool = new AddressPool(Optional.of(Cidr.parse("10.9.0.0/30")), Optional.of(Cidr.parse("fd00:9::/64")),
                List.of(), TERM, List.of()); // a /30 without reservations: two IPv4 addresses, .1 and .2
        granted(pool.offer(key(1), NONE, NONE, T0));
        granted(pool.offer(key(2), NONE, NONE, T0));
        assertThat(refused(pool.offer(key(3), NONE, NONE, T0)).reason()).isEqualTo(NakReason.POOL_EXHAUSTED);
        assertThat(pool.lease(key(3))).isEmpty();
        assertThat(granted(pool.offer(key(3), want(false, true, NONE, NONE, false), T0)).v6()).isEqualTo(ip("fd00:9::3"));
    }

    @Test
    void familiesThePoolDoesNotServe() {
        AddressPool pool = v4Only("10.9.0.0/24");
        assertThat(refused(pool.offer(key(1), want(false, true, NONE, NONE, false), T0)))
                .isEqualTo(new Refusal(NakReason.FAMILY_UNAVAILABLE, "this server assigns no IPv6 addresses"));
        assertThat(refused(pool.offer(key(1), NONE, ip("fd00::5"), T0)).text())
                .isEqualTo("fd00::5 is not in the address pool (this server assigns no IPv6 addresses)");
        Lease partial = granted(pool.offer(key(1), want(true, true, NONE, NONE, false), T0));
        assertThat(partial.v4()).isEqualTo(ip("10.9.0.2"));
        assertThat(partial.v6()).isEmpty();
        assertThat(granted(pool.offer(key(2), want(true, true, NONE, ip("fd00::5"), true), T0)).v6()).isEmpty();
    }

    @Test
    void expiryNeedsBothTheEndOfTheTermAndADeadPeer() {
        AddressPool pool = dualStack();
        Lease quietEnded = granted(pool.offer(key(1), NONE, NONE, T0));
        granted(pool.offer(key(2), NONE, NONE, T0));                 // ended, but alive
        granted(pool.offer(key(3), NONE, NONE, T0 + 1000));          // dead, but in its term
        granted(pool.offer(key(4), NONE, NONE, T0 + 1000));          // alive, in its term
        Set<Integer> alive = Set.of(2, 4);
        List<Lease> freed = pool.expire(T0 + TERM, k -> alive.contains((int) k[0]));
        assertThat(freed).containsExactly(quietEnded);
        assertThat(pool.leases()).extracting(l -> (int) l.publicKey()[0]).containsExactly(2, 3, 4);
        assertThat(pool.expire(T0 + TERM + 999, k -> alive.contains((int) k[0]))).isEmpty();
        assertThat(pool.expire(T0 + TERM + 1000, k -> alive.contains((int) k[0])))
                .extracting(l -> (int) l.publicKey()[0]).containsExactly(3);
        assertThat(granted(pool.offer(key(5), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0.2")); // key 1's, freed
    }

    @Test
    void renewExtendsAndReleaseFrees() {
        AddressPool pool = dualStack();
        assertThat(pool.renew(key(1), T0)).isEmpty();
        assertThat(pool.release(key(1))).isEmpty();
        Lease l = granted(pool.offer(key(1), NONE, NONE, T0));
        assertThat(pool.renew(key(1), T0 + 1800)).contains(l.withEnd(T0 + 1800 + TERM));
        assertThat(pool.release(key(1))).contains(l.withEnd(T0 + 1800 + TERM));
        assertThat(pool.leases()).isEmpty();
        assertThat(granted(pool.offer(key(2), ip("10.9.0.2"), NONE, T0)).v4()).isEqualTo(ip("10.9.0.2"));
    }

    @Test
    void ipv6IsAssignedFromTheLowestInterfaceIdentifierOfAnyPrefix() {
        AddressPool pool = new AddressPool(Optional.empty(), Optional.of(Cidr.parse("2001:db8:5::/48")),
                List.of(Cidr.parse("2001:db8:5::1/128"), Cidr.parse("2001:db8:5::4/126")), TERM, List.of());
        assertThat(granted(pool.offer(key(1), NONE, NONE, T0)).v6()).isEqualTo(ip("2001:db8:5::2"));
        assertThat(granted(pool.offer(key(2), NONE, NONE, T0)).v6()).isEqualTo(ip("2001:db8:5::3"));
        assertThat(granted(pool.offer(key(3), NONE, NONE, T0)).v6()).isEqualTo(ip("2001:db8:5::8")); // ::4-::7 reserved
        assertThat(granted(pool.offer(key(4), NONE, ip("2001:db8:5:ffff:ffff:ffff:ffff:ffff"), T0)).v6())
                .isEqualTo(ip("2001:db8:5:ffff:ffff:ffff:ffff:ffff"));
        assertThat(granted(pool.offer(key(5), NONE, NONE, T0)).v4()).isEmpty();
    }

    @Test
    void reservedPrefixesAreSteppedOverAndTinyRangesWork() {
        AddressPool pool = new AddressPool(Optional.of(Cidr.parse("10.9.0.0/24")), Optional.empty(),
                List.of(Cidr.parse("10.9.0.0/25")), TERM, List.of());
        assertThat(granted(pool.offer(key(1), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0.128"));
        AddressPool pair = new AddressPool(Optional.of(Cidr.parse("10.9.0.4/31")), Optional.empty(), List.of(), TERM, List.of());
        assertThat(granted(pair.offer(key(1), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0.4"));
        assertThat(granted(pair.offer(key(2), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0.5"));
        refused(pair.offer(key(3), NONE, NONE, T0));
        AddressPool single = new AddressPool(Optional.of(Cidr.parse("10.9.0.7/32")), Optional.empty(), List.of(), TERM, List.of());
        assertThat(granted(single.offer(key(1), NONE, NONE, T0)).v4()).isEqualTo(ip("10.9.0.7"));
    }

    @Test
    void theAckCarriesPoolPrefixesTermLeftAndRoutes() {
        AddressPool pool = dualStack();
        Lease l = granted(pool.offer(key(1), NONE, NONE, T0));
        AddressMessage.Ack ack = pool.ack(42, l, T0 + 600);
        assertThat(ack).isEqualTo(new AddressMessage.Ack(42, Optional.of(Cidr.parse("10.9.0.2/24")),
                Optional.of(Cidr.parse("fd00:9::2/64")), TERM - 600, List.of(Cidr.parse("192.168.50.0/24"))));
        assertThat(pool.ack(42, l, T0 + 99_999).leaseSeconds()).isEqualTo(1);
    }

    @Test
    void restoreKeepsWhatFitsAndNamesWhatDoesNot() {
        AddressPool pool = dualStack();
        Lease ok = new Lease(key(1), ip("10.9.0.9"), ip("fd00:9::9"), T0);
        Lease clash = new Lease(key(2), ip("10.9.0.9"), NONE, T0);
        Lease outside = new Lease(key(3), ip("10.8.0.9"), NONE, T0);
        Lease sameKey = new Lease(key(1), ip("10.9.0.10"), NONE, T0);
        List<String> problems = pool.restore(List.of(ok, clash, outside, sameKey));
        assertThat(pool.leases()).containsExactly(ok);
        assertThat(problems).containsExactly(
                "lease of " + clash.keyText() + " dropped: 10.9.0.9 is leased to another peer",
                "lease of " + outside.keyText() + " dropped: 10.8.0.9 is not in the address pool 10.9.0.0/24",
                "lease of " + sameKey.keyText() + " dropped: a lease for the same key came earlier");
        assertThat(refused(pool.offer(key(4), ip("10.9.0.9"), NONE, T0)).reason()).isEqualTo(NakReason.ADDRESS_IN_USE);
        assertThat(v4Only("10.9.0.0/24").restore(List.of(ok))).containsExactly(
                "lease of " + ok.keyText() + " dropped: this pool has no IPv6 addresses");
    }

    @Test
    void badConfigurationsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> new AddressPool(Optional.empty(), Optional.empty(), List.of(), TERM, List.of()))
                .hasMessage("a pool needs an IPv4 range, an IPv6 prefix or both");
        assertThatThrownBy(() -> new AddressPool(Optional.of(Cidr.parse("fd00::/64")), Optional.empty(), List.of(), TERM, List.of()))
                .hasMessage("pool range fd00::/64 is not IPv4");
        assertThatThrownBy(() -> new AddressPool(Optional.of(Cidr.parse("10.9.0.0/24")), Optional.empty(), List.of(), 0, List.of()))
                .hasMessage("lease time 0 s is out of range (1-4294967295)");
        assertThatThrownBy(() -> new AddressPool(Optional.of(Cidr.parse("10.9.0.0/24")), Optional.empty(), List.of(), TERM,
                List.of(Cidr.parse("10.1.2.3/16")))).hasMessage("route 10.1.2.3/16 has host bits set (did you mean 10.1.0.0/16?)");
        List<Cidr> many = new ArrayList<>();
        for (int i = 0; i < 33; i++) {
            many.add(Cidr.parse("10." + i + ".0.0/16"));
        }
        assertThatThrownBy(() -> new AddressPool(Optional.of(Cidr.parse("10.9.0.0/24")), Optional.empty(), List.of(), TERM, many))
                .hasMessage("33 routes to push are more than 32");
        assertThatThrownBy(() -> dualStack().offer(new byte[31], NONE, NONE, T0)).hasMessage("a public key has 32 bytes, not 31");
    }

    // ---- random sequences ----

    sealed interface Op permits Offer, Renew, Release, Expire {}
    record Offer(int key, Optional<InetAddress> v4, Optional<InetAddress> v6, boolean want4, boolean want6, boolean any) implements Op {}
    record Renew(int key) implements Op {}
    record Release(int key) implements Op {}
    record Expire(long advance, int aliveMask) implements Op {}

    /** A small pool (13 IPv4, 15 IPv6 addresses) and requests around it, so clashes and exhaustion are common. */
    static AddressPool small() {
        return new AddressPool(Optional.of(Cidr.parse("10.9.0.0/28")), Optional.of(Cidr.parse("fd00:9::/124")),
                List.of(Cidr.parse("10.9.0.1/32")), 100, List.of());
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Integer> keys = Arbitraries.integers().between(0, 15);
        Arbitrary<Optional<InetAddress>> v4 = Arbitraries.integers().between(0, 31)
                .map(i -> Cidr.parseAddress("10.9.0." + i)).optional(0.4);
        Arbitrary<Optional<InetAddress>> v6 = Arbitraries.integers().between(0, 31)
                .map(i -> Cidr.parseAddress("fd00:9::" + Integer.toHexString(i))).optional(0.4);
        Arbitrary<Op> offer = Combinators.combine(keys, v4, v6, Arbitraries.of(true, false), Arbitraries.of(true, false),
                Arbitraries.of(true, false)).as((k, a4, a6, w4, w6, any) -> new Offer(k, a4, a6, w4, w6, any));
        Arbitrary<Op> renew = keys.map(Renew::new);
        Arbitrary<Op> release = keys.map(Release::new);
        Arbitrary<Op> expire = Combinators.combine(Arbitraries.longs().between(0, 150), Arbitraries.integers().between(0, 0xffff))
                .as(Expire::new);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, offer), net.jqwik.api.Tuple.of(2, renew),
                net.jqwik.api.Tuple.of(1, release), net.jqwik.api.Tuple.of(2, expire)).list().ofMaxSize(80);
    }

    @Property(tries = 500)
    void noTwoLeasesEverShareAnAddress(@ForAll("operations") List<Op> ops) {
        AddressPool pool = small();
        long now = T0;
        for (Op op : ops) {
            List<Lease> before = pool.leases();
            switch (op) {
                case Offer o -> {
                    boolean w4 = o.want4() || o.v4().isPresent() || !(o.want6() || o.v6().isPresent());
                    boolean w6 = o.want6() || o.v6().isPresent();
                    Allocation a = pool.offer(key(o.key()), want(w4, w6, o.v4(), o.v6(), o.any()), now);
                    switch (a) {
                        case Lease l -> {
                            assertThat(pool.lease(key(o.key()))).contains(l);
                            if (!o.any()) {
                                o.v4().ifPresent(r -> assertThat(l.v4()).contains(r));
                                o.v6().ifPresent(r -> assertThat(l.v6()).contains(r));
                            }
                        }
                        case Refusal r -> assertThat(pool.leases()).isEqualTo(before);
                    }
                }
                case Renew r -> pool.renew(key(r.key()), now);
                case Release r -> pool.release(key(r.key()));
                case Expire e -> {
                    now += e.advance();
                    long at = now;
                    List<Lease> freed = pool.expire(now, k -> (e.aliveMask() >> k[0] & 1) != 0);
                    assertThat(freed).allMatch(l -> l.endsAt() <= at && (e.aliveMask() >> l.publicKey()[0] & 1) == 0);
                }
            }
            assertConsistent(pool);
        }
    }

    static void assertConsistent(AddressPool pool) {
        Set<InetAddress> seen = new HashSet<>();
        Set<Integer> keys = new HashSet<>();
        Cidr v4 = Cidr.parse("10.9.0.0/28");
        Cidr v6 = Cidr.parse("fd00:9::/124");
        for (Lease l : pool.leases()) {
            assertThat(keys.add((int) l.publicKey()[0])).as("one lease per key").isTrue();
            l.v4().ifPresent(a -> {
                assertThat(seen.add(a)).as("%s leased twice", a).isTrue();
                assertThat(v4.contains(a)).isTrue();
                assertThat(a).isNotIn(Cidr.parseAddress("10.9.0.0"), Cidr.parseAddress("10.9.0.1"), Cidr.parseAddress("10.9.0.15"));
            });
            l.v6().ifPresent(a -> {
                assertThat(seen.add(a)).as("%s leased twice", a).isTrue();
                assertThat(v6.contains(a)).isTrue();
                assertThat(a).isNotEqualTo(Cidr.parseAddress("fd00:9::"));
            });
        }
    }
}
