from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

from benchmarks.models import Benchmark, BenchmarkKind, Prompt

PASSWORD = "a-test-password"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted == "admin":
            self.is_staff = self.is_superuser = True
        elif extracted:
            self.groups.add(Group.objects.get(name=extracted))
            self.is_staff = extracted == "researcher"
        self.save()


class BenchmarkFactory(factory.django.DjangoModelFactory[Benchmark]):
    class Meta:
        model = Benchmark

    slug = factory.Sequence(lambda n: f"bench-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    kind = BenchmarkKind.NONCOMPLIANCE


class PromptFactory(factory.django.DjangoModelFactory[Prompt]):
    class Meta:
        model = Prompt

    benchmark = factory.SubFactory(BenchmarkFactory)
    external_id = factory.Sequence(lambda n: f"p{n}")
    category = "Incomplete requests"
    subcategory = "underspecified"
    text = factory.Sequence(lambda n: f"Prompt number {n}?")
