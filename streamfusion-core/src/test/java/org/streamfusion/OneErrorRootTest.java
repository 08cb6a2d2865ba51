package org.streamfusion;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaConstructorCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.streamfusion.cpu.CpuWorld;

/**
 * A service catches one type: every unchecked exception the core creates is a {@link StreamFusionException}
 * (ArchUnit over the compiled classes: no constructor call of any other {@link RuntimeException}), and misuse
 * through the API arrives as one.
 */
class OneErrorRootTest {
    /** Creating an unchecked exception that a {@code catch (StreamFusionException e)} would miss. */
    static final DescribedPredicate<JavaConstructorCall> FOREIGN_UNCHECKED = DescribedPredicate.describe(
            "an unchecked exception that is not a StreamFusionException", call -> {
                JavaClass created = call.getTargetOwner();
                // the root's own super calls; javac's MatchException in an exhaustive switch (it cannot be reached)
                boolean rootsSuper = call.getOriginOwner().isEquivalentTo(StreamFusionException.class);
                return created.isAssignableTo(RuntimeException.class) && !created.isAssignableTo(StreamFusionException.class)
                        && !created.isEquivalentTo(MatchException.class) && !rootsSuper;
            });

    @Test
    void theCoreCreatesNoUncheckedExceptionOutsideTheRoot() throws URISyntaxException {
        JavaClasses core = new ClassFileImporter().importPath(
                Path.of(StreamFusionException.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        noClasses().should().callConstructorWhere(FOREIGN_UNCHECKED)
                .because("a service catches every library failure as StreamFusionException").check(core);
    }

    @Test
    void misuseThroughTheApiArrivesUnderTheRoot() {
        assertThrows(StreamFusionException.class, () -> Topology.of(0, 2));
        assertThrows(StreamFusionException.class, () -> AttentionShape.of(1, 0, 24, 128));
        CpuWorld world = CpuWorld.create(Topology.of(1, 2));
        world.close();
        assertThrows(StreamFusionException.class, () -> world.run(rank -> 0));
        assertThrows(StreamFusionException.class, () -> WrongBackendException.require(String.class, null, "stream"));
    }
}
