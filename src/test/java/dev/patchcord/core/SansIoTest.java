package dev.patchcord.core;

import java.net.DatagramSocket;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.random.RandomGenerator;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The core (framing and the WireGuard protocol) is sans-IO: it computes, and the caller supplies
 * time, randomness and packets and runs it on threads of its own. These rules keep that true of
 * every core package, so that every test of the core can be deterministic, and keep dependencies
 * pointing inward: the core knows nothing of the shell around it.
 */
class SansIoTest {
    private static final String PACKAGE = "dev.patchcord.core..";
    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.patchcord.core");
    }

    @Test
    void noSocketsOrNativeMemory() {
        ArchRule rule = noClasses().that().resideInAPackage(PACKAGE)
                .should().dependOnClassesThat().areAssignableTo(Socket.class)
                .orShould().dependOnClassesThat().areAssignableTo(ServerSocket.class)
                .orShould().dependOnClassesThat().areAssignableTo(DatagramSocket.class)
                .orShould().dependOnClassesThat().resideInAnyPackage("java.nio.channels..", "java.lang.foreign..");
        rule.check(classes);
    }

    @Test
    void noDependencyOnTheShell() {
        ArchRule rule = noClasses().that().resideInAPackage(PACKAGE)
                .should().dependOnClassesThat().resideInAnyPackage("dev.patchcord.sys..", "dev.patchcord.tun..",
                        "dev.patchcord.transport..", "dev.patchcord.device..", "dev.patchcord.control..",
                        "dev.patchcord.cli..", "dev.patchcord.lab..");
        rule.check(classes);
    }

    @Test
    void noThreads() {
        ArchRule rule = noClasses().that().resideInAPackage(PACKAGE)
                .should().dependOnClassesThat().areAssignableTo(Thread.class)
                .orShould().dependOnClassesThat().areAssignableTo(Executor.class)
                .orShould().dependOnClassesThat().areAssignableTo(ThreadFactory.class);
        rule.check(classes);
    }

    @Test
    void noClocks() {
        ArchRule rule = noClasses().that().resideInAPackage(PACKAGE)
                .should().callMethod(System.class, "currentTimeMillis")
                .orShould().callMethod(System.class, "nanoTime")
                .orShould().callMethod(Instant.class, "now")
                .orShould().dependOnClassesThat().areAssignableTo(Clock.class);
        rule.check(classes);
    }

    @Test
    void randomnessOnlyFromTheCaller() {
        ArchRule rule = noClasses().that().resideInAPackage(PACKAGE)
                .should().dependOnClassesThat().areAssignableTo(Random.class)
                .orShould().dependOnClassesThat().areAssignableTo(SecureRandom.class)
                .orShould().callMethod(RandomGenerator.class, "getDefault")
                .orShould().callMethod(RandomGenerator.class, "of", String.class);
        rule.check(classes);
    }
}
