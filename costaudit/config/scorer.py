"""A fitted router saved by `costaudit route fit --out router.json`, read back by scenarios
(`routing: {scorer: router.json}`).

The file holds numbers only: standardisation and weights of two logistic regressions (the weak and the
strong model's chance of a good answer), and a table of token hashes (CRC-32 of a lower-cased word,
word pair or punctuation mark) with each token's label values. Only tokens found in at least
`tokens.min_prompts` labelled prompts are kept. Hashes keep words from being readable at a glance but
are not encryption: whoever has a word list can test which common words carry weight. Treat the file
like a summary of the labelled prompts.

```json
{"schema": "costaudit.scorer/1", "labels": {"weak": "mixtral", "strong": "gpt-4", "scale": [0, 1]},
 "fit": {"labelled": 1319, "folds": 10, "seed": 7},
 "out_of_fold": {"apgr": 0.64, "apgr_interval": [0.6, 0.68], "cpt50": 0.33, "cpt80": 0.63},
 "label_free": {"builtin_apgr": 0.6, "length_apgr": 0.59, "random_apgr": 0.5},
 "features": ["turns", …], "mean": […], "scale": […],
 "weak": {"intercept": 0.1, "weights": […]}, "strong": {"intercept": 1.2, "weights": […]},
 "tokens": {"hash": "crc32", "min_prompts": 5, "shrinkage": 10, "labelled": 1319,
            "ids": […], "prompts": […], "weak": […], "strong": […]}}
```
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from costaudit.config.base import StrictModel

SCORER_SCHEMA = "costaudit.scorer/1"
Finite = Annotated[float, Field(allow_inf_nan=False)]


class ScorerLabels(StrictModel):
    weak: str
    """Quality-label column of the cheap model (`quality:<weak>`)."""
    strong: str
    scale: tuple[Finite, Finite] = (0.0, 1.0)
    """The labels' scale as fitted (`--label-scale`); labels were mapped to [0, 1]."""


class ScorerFit(StrictModel):
    labelled: Annotated[int, Field(ge=1)]
    folds: Annotated[int, Field(ge=2)]
    seed: int


class OutOfFold(StrictModel):
    """How well the scorer ranked prompts it was not fitted on (k-fold cross-validation)."""

    apgr: Finite
    apgr_interval: tuple[Finite, Finite] | None = None
    cpt50: Finite | None = None
    cpt80: Finite | None = None


class LabelFree(StrictModel):
    """The references on the same labelled prompts."""

    builtin_apgr: Finite | None = None
    length_apgr: Finite | None = None
    random_apgr: Finite | None = None


class ScorerModel(StrictModel):
    intercept: Finite
    weights: list[Finite]


class ScorerTokens(StrictModel):
    hash: Literal["crc32"] = "crc32"
    min_prompts: Annotated[int, Field(ge=1)]
    shrinkage: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    labelled: Annotated[int, Field(ge=1)]
    """Labelled prompts the token table was built from (for idf)."""
    ids: list[Annotated[int, Field(ge=0, lt=2**32)]]
    """Token hashes, strictly increasing."""
    prompts: list[Annotated[int, Field(ge=1)]]
    weak: list[Finite]
    strong: list[Finite]

    @model_validator(mode="after")
    def _aligned(self) -> Self:
        sizes = {len(self.ids), len(self.prompts), len(self.weak), len(self.strong)}
        if len(sizes) != 1:
            raise ValueError("ids, prompts, weak and strong must have the same length")
        if any(later <= earlier for earlier, later in zip(self.ids, self.ids[1:], strict=False)):
            raise ValueError("ids must be strictly increasing")
        return self


class ScorerFile(StrictModel):
    schema_: Literal["costaudit.scorer/1"] = Field(alias="schema")
    version: str | None = None
    """costaudit version that wrote the file."""
    labels: ScorerLabels
    fit: ScorerFit
    out_of_fold: OutOfFold
    label_free: LabelFree = LabelFree()
    features: list[str]
    mean: list[Finite]
    scale: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]]
    weak: ScorerModel
    strong: ScorerModel
    tokens: ScorerTokens

    model_config = StrictModel.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _sizes_agree(self) -> Self:
        size = len(self.features)
        for name, values in (
            ("mean", self.mean),
            ("scale", self.scale),
            ("weak.weights", self.weak.weights),
            ("strong.weights", self.strong.weights),
        ):
            if len(values) != size:
                raise ValueError(f"{name} has {len(values)} values for {size} features")
        return self
