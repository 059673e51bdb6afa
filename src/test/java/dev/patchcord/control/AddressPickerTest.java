package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class AddressPickerTest {
    private static List<Cidr> cidrs(String... s) {
        List<Cidr> out = new ArrayList<>();
        for (String x : s) {
            out.add(Cidr.parse(x));
        }
        return out;
    }

    @Test
    void takesTheLowestHostThatIsNeitherTheServerNorAPeer() {
        assertThat(AddressPicker.pick(Cidr.parse("10.8.0.1/24"), cidrs("10.8.0.1/32")))
                .contains(Cidr.parse("10.8.0.2/32"));
        assertThat(AddressPicker.pick(Cidr.parse("10.8.0.1/24"), cidrs("10.8.0.1/32", "10.8.0.2/32", "10.8.0.4/32")))
                .contains(Cidr.parse("10.8.0.3/32"));
    }

    @Test
    void jumpsOverWholeRangesAndIgnoresTheOtherFamily() {
        assertThat(AddressPicker.pick(Cidr.parse("10.8.0.1/24"),
                cidrs("10.8.0.0/28", "10.8.0.16/29", "fd00::/8", "192.168.0.0/16")))
                .contains(Cidr.parse("10.8.0.24/32"));
    }

    @Test
    void neverPicksTheNetworkOrBroadcastAddressAndSaysWhenFull() {
        List<Cidr> taken = cidrs("10.9.0.1/32", "10.9.0.2/32");
        assertThat(AddressPicker.pick(Cidr.parse("10.9.0.1/30"), taken)).isEmpty();
        assertThat(AddressPicker.pick(Cidr.parse("10.9.0.1/30"), cidrs("10.9.0.1/32")))
                .contains(Cidr.parse("10.9.0.2/32"));
    }

    @Test
    void ipv6PicksInAHugeSubnetInFewSteps() {
        List<Cidr> taken = cidrs("fd00:8::1/128", "fd00:8::/120", "fd00:8::100/120");
        assertThat(AddressPicker.pick(Cidr.parse("fd00:8::1/64"), taken)).contains(Cidr.parse("fd00:8::200/128"));
    }

    @Test
    void aFullSubnetCoveredByOnePeerIsFull() {
        assertThat(AddressPicker.pick(Cidr.parse("fd00:8::1/64"), cidrs("fd00:8::/64"))).isEmpty();
        assertThat(AddressPicker.pick(Cidr.parse("10.0.0.1/8"), cidrs("0.0.0.0/0"))).isEmpty();
    }

    private static List<String> text(List<java.net.InetAddress> list) {
        return list.stream().map(java.net.InetAddress::getHostAddress).toList();
    }

    @Test
    void candidatesAreTheFreeHostsInOrderSkippingServerAndPeers() {
        List<Cidr> taken = cidrs("10.8.0.1/32", "10.8.0.3/32", "10.8.0.4/31", "10.8.0.0/29", "fd00::/8");
        // Unsorted and overlapping taken ranges; the network address is never a candidate.
        assertThat(text(AddressPicker.candidates(Cidr.parse("10.8.0.1/24"), taken, 3)))
                .containsExactly("10.8.0.8", "10.8.0.9", "10.8.0.10");
        assertThat(text(AddressPicker.candidates(Cidr.parse("10.8.0.1/24"), cidrs("10.8.0.1/32", "10.8.0.3/32"), 3)))
                .containsExactly("10.8.0.2", "10.8.0.4", "10.8.0.5");
        assertThat(AddressPicker.candidates(Cidr.parse("10.8.0.1/24"), taken, 0)).isEmpty();
    }

    @Test
    void candidatesStopAtTheSubnetsEndAndItsBroadcast() {
        assertThat(text(AddressPicker.candidates(Cidr.parse("10.9.0.1/29"), cidrs("10.9.0.1/32", "10.9.0.3/32"), 100)))
                .containsExactly("10.9.0.2", "10.9.0.4", "10.9.0.5", "10.9.0.6");
        assertThat(AddressPicker.candidates(Cidr.parse("10.9.0.1/30"), cidrs("10.9.0.1/32", "10.9.0.2/32"), 5)).isEmpty();
        assertThat(AddressPicker.candidates(Cidr.parse("10.0.0.1/8"), cidrs("0.0.0.0/0"), 5)).isEmpty();
        assertThat(text(AddressPicker.candidates(Cidr.parse("10.9.0.1/24"), cidrs("10.9.0.1/32", "10.9.1.0/24"), 1000)))
                .hasSize(253).endsWith("10.9.0.254");
    }

    @Test
    void ipv6CandidatesInAHugeSubnetJumpOverRanges() {
        List<Cidr> taken = cidrs("fd00:8::1/128", "fd00:8::100/120", "fd00:8::/120", "10.0.0.0/8");
        assertThat(text(AddressPicker.candidates(Cidr.parse("fd00:8::1/64"), taken, 2)))
                .containsExactly("fd00:8:0:0:0:0:0:200", "fd00:8:0:0:0:0:0:201");
        assertThat(AddressPicker.candidates(Cidr.parse("fd00:8::1/64"), cidrs("fd00:8::/64"), 5)).isEmpty();
    }

    @Test
    void aNegativeLimitIsRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> AddressPicker.candidates(Cidr.parse("10.8.0.1/24"), List.of(), -1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
