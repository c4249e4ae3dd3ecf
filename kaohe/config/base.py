"""What every section model of the configuration file shares: the strict scalar types, the
base model (unknown keys are errors, values frozen) and the keyed-mapping helper."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, Strict, create_model, model_validator

# ---------------------------------------------------------------------------------------------
# the file models: one per section, shaped like the YAML; unknown keys are errors

Num = Annotated[float, Strict()]        # a number (int or float; not a bool, not a string)
Int = Annotated[int, Strict()]          # a whole number
Bool = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ident(key: str) -> str:
    return key.replace("+", "_plus").replace("-", "_")


def _keyed(name: str, keys: tuple[str, ...], doc: str, ge: float | None = None,
           le: float | None = None, check: Any = None) -> type[_Model]:
    """A mapping that must give exactly ``keys``, each a number in [ge, le]."""
    fields: dict[str, Any] = {_ident(k): (Num, Field(alias=k, ge=ge, le=le)) for k in keys}
    validators = {"check": model_validator(mode="after")(check)} if check else {}
    model = create_model(name, __base__=_Model, __doc__=doc, __validators__=validators,
                         **fields)
    model.KEYS = keys
    return model


def _as_dict(section: BaseModel) -> dict[str, float]:
    return {k: float(getattr(section, _ident(k))) for k in section.KEYS}


def _weights_sum_to_1(self: BaseModel) -> BaseModel:
    total = sum(_as_dict(self).values())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"must sum to 1, not {total:g}")
    return self


def _bands_fall(self: BaseModel) -> BaseModel:
    bands = list(_as_dict(self).values())
    if bands != sorted(bands, reverse=True) or len(set(bands)) != len(bands):
        raise ValueError("bands must fall strictly from S to C")
    return self


def _percentages_sum_to_100(self: BaseModel) -> BaseModel:
    if abs(sum(_as_dict(self).values()) - 100) > 1e-6:
        raise ValueError("percentages must sum to 100")
    return self


def _version(value: Any) -> Any:
    # an unquoted `version: 2026.1` is a YAML number: keep its text
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _zone(value: Any) -> Any:
    if isinstance(value, str):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone (like Asia/Shanghai)") from None
    return value
