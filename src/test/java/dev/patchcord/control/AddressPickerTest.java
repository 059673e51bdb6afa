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
}
