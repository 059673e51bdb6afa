package dev.patchcord.core.wg;

import dev.patchcord.core.Cidr;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Linux kernel's allowedips self-test (which wireguard-go carries too), the edges of /0 and
 * full-length prefixes, a comparison with a linear longest-prefix scan over random changes (which
 * ends by removing every prefix), and a smoke test of lookups racing a writer.
 */
class PrefixTrieTest {
    private static final String A = "a", B = "b", C = "c", D = "d", E = "e", F = "f", G = "g", H = "h";
    private static final String[] OWNERS = {A, B, C, D, E};

    private final PrefixTrie<String> t4 = new PrefixTrie<>(32);
    private final PrefixTrie<String> t6 = new PrefixTrie<>(128);

    private static byte[] ip(String text) {
        return Cidr.parseAddress(text).getAddress();
    }

    private PrefixTrie<String> trie(String address) {
        return address.indexOf(':') < 0 ? t4 : t6;
    }

    /** Inserts {@code cidrs} (host bits and all, as written) for {@code owner}. */
    private void put(String owner, String... cidrs) {
        for (String text : cidrs) {
            Cidr c = Cidr.parse(text);
            trie(text).insert(c.address().getAddress(), c.prefix(), owner);
        }
    }

    private void assertOwner(String owner, String... addresses) {
        for (String address : addresses) {
            assertThat(trie(address).lookup(ip(address))).as(address).isEqualTo(owner);
        }
    }

    /** The trie holds no node that neither owns a prefix nor joins two subtrees. */
    private static void assertCompact(PrefixTrie<?> trie) {
        assertThat(trie.nodeCount()).isLessThanOrEqualTo(Math.max(0, 2 * trie.size() - 1));
        assertThat(trie.entries()).hasSize(trie.size());
    }

    private static List<String> listing(List<PrefixTrie.Entry<String>> entries) {
        return entries.stream().map(e -> HexFormat.of().formatHex(e.network()) + "/" + e.prefix() + "=" + e.value()).toList();
    }

    /** The kernel's table; C's /27 replaces D's and F's ::/0 replaces E's, and host bits are masked. */
    private void kernelTable() {
        put(D, "192.95.5.64/27", "2607:5300:6000:6b00::c05f:543/128", "10.1.0.16/29");
        put(E, "0.0.0.0/0", "::/0");
        put(A, "192.168.4.0/24", "2404:6800:4004:800:dead:beef:dead:beef/128", "10.0.0.0/25", "10.1.0.0/30");
        put(B, "192.168.4.4/32", "2444:6800:f0e4:800:eeae:beef::/98", "10.0.0.128/25", "10.1.0.4/30");
        put(C, "192.168.0.0/16", "192.95.5.65/27", "2607:5300:6000:6b00::/64", "2444:6800:40e4:800:deae:beef:def:beef/128",
                "10.1.0.8/29");
        put(F, "::/0");
        put(G, "2404:6800::/32", "64.15.112.0/20");
        put(H, "2404:6800:4004:800:dead:beef:dead:beef/64", "64.15.123.211/25");
    }

    @Test
    void kernelSelfTestLookups() {
        kernelTable();
        assertOwner(A, "192.168.4.20", "192.168.4.0", "10.0.0.52", "10.1.0.2", "2404:6800:4004:800:dead:beef:dead:beef");
        assertOwner(B, "192.168.4.4", "10.0.0.220", "10.1.0.6");
        assertOwner(C, "192.168.200.182", "192.95.5.68", "10.1.0.10", "2607:5300:6000:6b00::c02e:1ee");
        assertOwner(D, "10.1.0.20", "2607:5300:6000:6b00::c05f:543");
        assertOwner(E, "192.95.5.96");
        assertOwner(F, "2607:5300:6000:6b01::", "2404:67ff:4004:806:0:1234:0:5678", "2404:6801:4004:806:0:1234:0:5678");
        assertOwner(G, "2404:6800:4004:806::1006", "2404:6800:4004:806:0:1234:0:5678", "64.15.116.26", "64.15.127.3",
                "64.15.123.1");
        assertOwner(H, "2404:6800:4004:800:0:1234:0:5678", "2404:6800:4004:800::", "2404:6800:4004:800:1010:1010:1010:1010",
                "64.15.123.128", "64.15.123.129");
        assertThat(t4.size()).isEqualTo(13);
        assertThat(t6.size()).isEqualTo(8);
        assertCompact(t4);
        assertCompact(t6);
    }

    @Test
    void removeAllForOneOwnerLeavesTheOthers() {
        kernelTable();
        String[] hosts = {"1.0.0.0", "64.0.0.0", "128.0.0.0", "192.0.0.0", "255.0.0.0"};
        for (String host : hosts) {
            put(A, host + "/32");
        }
        assertOwner(A, hosts);
        assertThat(t4.removeAll(A)).isEqualTo(8);
        assertOwner(E, "1.0.0.0", "255.0.0.0", "10.0.0.52");
        assertOwner(C, "192.168.4.20");
        assertOwner(B, "10.0.0.220", "10.1.0.6");
        assertOwner(A, "2404:6800:4004:800:dead:beef:dead:beef");
        assertThat(t4.removeAll(A)).isZero();
        assertCompact(t4);
        for (String owner : List.of(A, B, C, D, E, F, G, H)) {
            t4.removeAll(owner);
            t6.removeAll(owner);
        }
        assertThat(List.of(t4.size(), t4.nodeCount(), t6.size(), t6.nodeCount())).containsOnly(0);

        put(A, "192.168.0.0/16", "192.168.0.0/24");
        t4.removeAll(A);
        assertOwner(null, "192.168.0.1");
        assertThat(t4.nodeCount()).isZero();
    }

    /** The kernel's check that no node is lost or miscounted on the deepest possible paths. */
    @Test
    void everySingleBitFlipOfAFullAddressIsItsOwnLeaf() {
        for (int i = 0; i < 128; i++) {
            byte[] address = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
            address[i / 8] &= (byte) ~(0x80 >>> (i % 8));
            t6.insert(address, 128, A);
        }
        assertThat(t6.size()).isEqualTo(128);
        assertCompact(t6);
        assertOwner(null, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        assertThat(t6.removeAll(A)).isEqualTo(128);
        assertThat(t6.nodeCount()).isZero();
    }

    @Test
    void entriesAreMaskedNetworksInAddressOrder() {
        put(A, "192.95.5.93/27", "2607:5300:6000:6b00::c05f:543/128", "10.1.0.20/29");
        put(A, "2607:5300:6d8a:6bf8:dab1:f1df:c05f:1523/83", "2607:5300:6d8a:6bf8:dab1:f1df:c05f:1523/21");
        put(B, "10.1.0.0/16");
        assertThat(listing(t4.entriesOf(A))).containsExactly("0a010010/29=a", "c05f0540/27=a");
        assertThat(listing(t6.entriesOf(A))).containsExactly("26075000000000000000000000000000/21=a",
                "2607530060006b0000000000c05f0543/128=a", "260753006d8a6bf8dab1e00000000000/83=a");
        assertThat(listing(t4.entries())).containsExactly("0a010000/16=b", "0a010010/29=a", "c05f0540/27=a");
    }

    @Test
    void hostRoutesInsideNetworksFallBackWhenRemoved() {
        put(A, "0.0.0.0/0");
        put(B, "10.0.0.0/8");
        put(C, "10.0.0.7/32");
        assertOwner(C, "10.0.0.7");
        assertOwner(B, "10.0.0.8");
        assertOwner(A, "11.0.0.7");
        assertThat(t4.remove(ip("10.0.0.7"), 32)).isTrue();
        assertThat(t4.remove(ip("10.0.0.7"), 32)).isFalse();
        assertOwner(B, "10.0.0.7");
        assertThat(t4.remove(ip("10.9.9.9"), 8)).as("host bits ignored").isTrue();
        assertOwner(A, "10.0.0.7");
        assertThat(t4.remove(ip("0.0.0.0"), 0)).isTrue();
        assertOwner(null, "10.0.0.7");
        assertThat(t4.nodeCount()).isZero();

        put(D, "2001:db8::1/128");
        put(E, "::/0");
        assertOwner(D, "2001:db8::1");
        assertOwner(E, "2001:db8::2");
        assertThat(t6.remove(ip("2001:db8::1"), 128)).isTrue();
        assertOwner(E, "2001:db8::1");
        assertCompact(t6);
    }

    @Test
    void removingAJoiningNodeOrAMissingPrefixChangesNothing() {
        put(A, "10.0.0.0/24");
        put(B, "10.0.1.0/24");
        assertThat(t4.nodeCount()).as("two leaves and the node joining them").isEqualTo(3);
        assertThat(t4.remove(ip("10.0.0.0"), 23)).isFalse();
        assertThat(t4.remove(ip("10.0.0.0"), 25)).isFalse();
        assertThat(t4.remove(ip("10.0.2.0"), 24)).isFalse();
        assertThat(t4.get(ip("10.0.0.0"), 23)).isNull();
        assertThat(t4.size()).isEqualTo(2);
        assertThat(t4.remove(ip("10.0.1.0"), 24)).isTrue();
        assertThat(t4.nodeCount()).isEqualTo(1);
    }

    @Test
    void aPrefixMovesToItsNewOwner() {
        put(A, "10.0.0.0/24");
        put(B, "10.0.0.99/24");
        assertOwner(B, "10.0.0.1");
        assertThat(t4.size()).isEqualTo(1);
        assertThat(t4.removeAll(A)).isZero();
        assertOwner(B, "10.0.0.1");
    }

    @Test
    void lookupReadsTheBufferInPlaceWhateverItsOrder() {
        put(A, "10.0.0.0/8");
        put(B, "fd00::/8");
        for (ByteBuffer buf : List.of(ByteBuffer.allocateDirect(64), ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN))) {
            buf.put(7, ip("10.1.2.3")).put(30, ip("fd12:3456::9")).position(5);
            assertThat(t4.lookup(buf, 7)).isEqualTo(A);
            assertThat(t4.lookup(buf, 8)).isNull();
            assertThat(t6.lookup(buf, 30)).isEqualTo(B);
            assertThat(buf.position()).isEqualTo(5);
        }
    }

    enum Kind { INSERT, REMOVE, REMOVE_PRESENT, REMOVE_ALL }

    record Op(Kind kind, byte[] address, int prefix, int pick) {
        @Override
        public String toString() {
            return kind + " " + HexFormat.of().formatHex(address) + "/" + prefix + " #" + pick;
        }
    }

    private record Row(byte[] network, int prefix, String owner) {}

    record Scenario(int width, List<Op> ops, List<byte[]> probes) {}

    /**
     * After every step: the same answers, the same listing in the same order, no dead node; at the
     * end, no node. jqwik's edge cases are off: they would crowd out long sequences of changes.
     */
    @Property(tries = 600, edgeCases = EdgeCasesMode.NONE)
    void agreesWithALinearScan(@ForAll("scenarios") Scenario scenario) {
        PrefixTrie<String> trie = new PrefixTrie<>(scenario.width);
        List<Row> model = new ArrayList<>();
        ByteBuffer buf = ByteBuffer.allocateDirect(32);
        for (Op op : scenario.ops) {
            byte[] net = mask(op.address, op.prefix);
            String owner = OWNERS[op.pick % OWNERS.length];
            switch (op.kind) {
                case INSERT -> {
                    model.removeIf(r -> r.prefix == op.prefix && Arrays.equals(r.network, net));
                    model.add(new Row(net, op.prefix, owner));
                    trie.insert(op.address, op.prefix, owner);
                }
                case REMOVE -> assertThat(trie.remove(op.address, op.prefix))
                        .isEqualTo(model.removeIf(r -> r.prefix == op.prefix && Arrays.equals(r.network, net)));
                case REMOVE_PRESENT -> {
                    if (!model.isEmpty()) {
                        Row r = model.remove(op.pick % model.size());
                        assertThat(trie.remove(r.network, r.prefix)).isTrue();
                    }
                }
                case REMOVE_ALL -> {
                    long owned = model.stream().filter(r -> r.owner == owner).count();
                    model.removeIf(r -> r.owner == owner);
                    assertThat(trie.removeAll(owner)).isEqualTo(owned);
                }
            }
            assertCompact(trie);
            assertThat(listing(trie.entries())).isEqualTo(model.stream()
                    .sorted(Comparator.comparing(Row::network, Arrays::compareUnsigned).thenComparingInt(Row::prefix))
                    .map(r -> HexFormat.of().formatHex(r.network) + "/" + r.prefix + "=" + r.owner).toList());
            assertThat(trie.lookup(op.address)).isEqualTo(linearScan(model, op.address));
            for (byte[] probe : scenario.probes) {
                String expected = linearScan(model, probe);
                assertThat(trie.lookup(probe)).isEqualTo(expected);
                assertThat(trie.lookup(buf.put(3, probe), 3)).isEqualTo(expected);
            }
        }
        for (Row r : model) {
            assertThat(trie.remove(r.network, r.prefix)).isTrue();
        }
        assertThat(trie.size()).isZero();
        assertThat(trie.nodeCount()).isZero();
    }

    private static String linearScan(List<Row> model, byte[] address) {
        Row best = null;
        for (Row r : model) {
            if ((best == null || r.prefix > best.prefix) && Arrays.equals(mask(address, r.prefix), r.network)) {
                best = r;
            }
        }
        return best == null ? null : best.owner;
    }

    private static byte[] mask(byte[] address, int prefix) {
        byte[] out = address.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] &= (byte) (0xff00 >> Math.clamp(prefix - 8L * i, 0, 8));
        }
        return out;
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        return Arbitraries.of(32, 128).flatMap(width -> Combinators.combine(ops(width),
                        near(width).list().ofMinSize(1).ofMaxSize(20).withSizeDistribution(RandomDistribution.uniform()))
                .as((ops, probes) -> new Scenario(width, ops, probes)));
    }

    private static Arbitrary<List<Op>> ops(int width) {
        Arbitrary<Kind> kinds = Arbitraries.frequency(Tuple.of(8, Kind.INSERT), Tuple.of(2, Kind.REMOVE),
                Tuple.of(2, Kind.REMOVE_PRESENT), Tuple.of(1, Kind.REMOVE_ALL));
        return Combinators.combine(kinds, near(width), Arbitraries.integers().between(0, width),
                Arbitraries.integers().between(0, 1000)).as(Op::new).list().ofMaxSize(60)
                .withSizeDistribution(RandomDistribution.uniform());
    }

    /**
     * Addresses sharing a prefix with one of a few bases, most of them all but the last few bits,
     * so that prefixes nest and collide far more often than with uniform addresses.
     */
    private static Arbitrary<byte[]> near(int width) {
        List<byte[]> bases = (width == 32 ? Stream.of("10.0.0.0", "10.0.0.128", "10.1.2.3", "192.168.1.1", "0.0.0.0",
                "255.255.255.255") : Stream.of("fd00::", "fd00::1", "fd00:0:0:1::8000", "2001:db8::", "::",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).map(PrefixTrieTest::ip).toList();
        Arbitrary<Integer> kept = Arbitraries.oneOf(Arbitraries.integers().between(width - 8, width),
                Arbitraries.integers().between(0, width));
        return Combinators.combine(Arbitraries.of(bases), kept, Arbitraries.bytes().array(byte[].class).ofSize(width / 8))
                .as((base, keep, noise) -> {
                    byte[] out = mask(base, keep);
                    byte[] networkNoise = mask(noise, keep);
                    for (int i = 0; i < out.length; i++) {
                        out[i] |= (byte) (noise[i] ^ networkNoise[i]);
                    }
                    return out;
                });
    }

    /**
     * A writer churns for about a second while a reader looks up. Each value names its own
     * prefix, so the reader can check that any answer was once inserted for a prefix covering the
     * address it asked about.
     */
    @Test
    void lookupsDuringChurnSeeOnlyWholeStates() throws InterruptedException {
        List<Cidr> pool = new SplittableRandom(11).ints(200, 0, 33 << 12).mapToObj(n -> Cidr.parse(
                "10." + (n >> 10 & 3) + "." + (n >> 8 & 3) + "." + (n & 255) + "/" + (n >> 12)).network()).toList();
        Set<String> everInserted = ConcurrentHashMap.newKeySet();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong lookups = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        threads.add(loop(stop, failure, () -> {
            Cidr c = pool.get(ThreadLocalRandom.current().nextInt(pool.size()));
            if (ThreadLocalRandom.current().nextInt(3) == 0) {
                t4.remove(c.address().getAddress(), c.prefix());
            } else {
                everInserted.add(c.toString());
                t4.insert(c.address().getAddress(), c.prefix(), c.toString());
            }
        }));
        ByteBuffer buf = ByteBuffer.allocateDirect(8);
        threads.add(loop(stop, failure, () -> {
            ThreadLocalRandom rng = ThreadLocalRandom.current();
            byte[] address = {10, (byte) rng.nextInt(4), (byte) rng.nextInt(4), (byte) rng.nextInt(256)};
            String owner = t4.lookup(buf.put(2, address), 2);
            lookups.incrementAndGet();
            if (owner != null && (!everInserted.contains(owner) || !Cidr.parse(owner).contains(address))) {
                throw new AssertionError(owner + " answered for " + HexFormat.of().formatHex(address));
            }
        }));
        Thread.sleep(1000);
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(lookups.get()).isPositive();
        assertCompact(t4);
    }

    private static Thread loop(AtomicBoolean stop, AtomicReference<Throwable> failure, Runnable step) {
        Thread t = new Thread(() -> {
            try {
                while (!stop.get()) {
                    step.run();
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        t.start();
        return t;
    }
}
