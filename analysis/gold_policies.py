"""Which gold labels the agreement report measures judges against: the campaign's own (the label
enough annotators agreed on, or a researcher's adjudication), or a model of the annotators
(Dawid-Skene or MACE, analysis/aggregation.py) that weighs each by how good their labels look.
A researcher's adjudication stands under every policy: a person read the item and decided."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace

from django.core.cache import cache

from analysis.aggregation import DAWID_SKENE, MACE_METHOD, ModelGold, model_gold
from analysis.exports import CONSENSUS
from analysis.selectors import CampaignData
from annotate.models import GoldSource
from annotate.schemes import scheme_values

GOLD_POLICIES = {
    CONSENSUS: "Agreed or adjudicated",
    DAWID_SKENE: "Dawid-Skene",
    MACE_METHOD: "MACE",
}
GOLD_POLICY_HELP = {
    CONSENSUS: "the label the campaign's overlap of annotators agreed on, or a researcher's "
    "adjudication; items where annotators disagree and nobody settled them are left out",
    DAWID_SKENE: "every labelled item's most probable label under a Dawid-Skene model, which "
    "learns each annotator's confusion matrix from all their labels; adjudicated items keep the "
    "researcher's label",
    MACE_METHOD: "every labelled item's most probable label under MACE, which learns how often "
    "each annotator knows the answer rather than clicks at random; adjudicated items keep the "
    "researcher's label",
}


def gold_policy_parse(raw: str | None) -> str:
    """The policy a request names, or the campaign's own gold for anything else."""
    return raw if raw in GOLD_POLICIES else CONSENSUS


@dataclass(frozen=True)
class AnnotatorModel:
    """What a model learned about one annotator (shown as A1, A2, …): Dawid-Skene's
    ``confusion`` (rows: the true label, in ``labels`` order; columns: the label given; None
    where no item had that true label) and ``right``, its diagonal; MACE's ``competence`` (how
    often they know the answer rather than click at random)."""

    annotator: str
    right: list[float | None]
    confusion: list[list[float | None]]
    competence: float | None = None


@dataclass(frozen=True)
class PolicyGold:
    """The campaign's columns with the gold labels of one policy; ``note`` says why a model
    could not be fitted (its gold is then what the labels plainly say); ``fitted``: the model,
    for a model's policy."""

    policy: str
    data: CampaignData
    note: str = ""
    fitted: ModelGold | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.fitted.labels if self.fitted is not None else ()

    @property
    def annotator_models(self) -> list[AnnotatorModel]:
        """Per annotator, in the report's order, what the model learned about them."""
        if self.fitted is None or self.note:
            return []
        found = []
        for name in self.data.annotators:
            if name in self.fitted.confusion:
                matrix = [[_number(p) for p in row] for row in self.fitted.confusion[name]]
                right = [row[index] for index, row in enumerate(matrix)]
                found.append(AnnotatorModel(name, right, matrix))
            elif name in self.fitted.competence:
                found.append(AnnotatorModel(name, [], [], self.fitted.competence[name]))
        return found

    @property
    def name(self) -> str:
        return GOLD_POLICIES[self.policy]

    @property
    def help(self) -> str:
        return GOLD_POLICY_HELP[self.policy]


def gold_by_policy(data: CampaignData, policy: str) -> PolicyGold:
    if policy == CONSENSUS:
        return PolicyGold(policy, data)
    fitted = _fitted(data, policy)
    gold: list[str | None] = []
    sources: list[str | None] = []
    for own, source, modelled in zip(data.gold, data.gold_sources, fitted.gold, strict=True):
        if source == GoldSource.ADJUDICATED:
            gold.append(own)
            sources.append(source)
        else:
            gold.append(modelled)
            sources.append(policy if modelled is not None else None)
    changed = replace(data, gold=gold, gold_sources=sources)
    return PolicyGold(policy, changed, fitted.reason, fitted)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


# A fitted model's gold is kept this long; the key is the labels themselves, so any new label,
# change or exclusion fits afresh, and the same labels never fit twice.
FIT_CACHE_SECONDS = 7 * 24 * 3600


def _fitted(data: CampaignData, policy: str) -> ModelGold:
    """The model fitted to the campaign's labels, from the cache when the same labels were
    fitted before: a fit of 10,000 items takes seconds."""
    categories = scheme_values(data.campaign.label_scheme)
    content = json.dumps([policy, data.campaign.seed, categories, data.annotators, data.ratings])
    key = f"model-gold:{hashlib.sha256(content.encode()).hexdigest()}"
    cached = cache.get(key)
    if isinstance(cached, ModelGold):
        return cached
    fitted = model_gold(
        data.ratings,
        data.annotators,
        method=policy,
        categories=categories,
        seed=data.campaign.seed,
    )
    cache.set(key, fitted, FIT_CACHE_SECONDS)
    return fitted
