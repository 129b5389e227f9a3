"""``ModelInstance``: named attributes holding numbers, profiles, galaxies or further instances -- what a model
produces for one parameter vector. A JAX pytree, so a batch of instances vmaps."""

from __future__ import annotations

import jax


@jax.tree_util.register_pytree_node_class
class ModelInstance:
    """E.g. ``ModelInstance(galaxies=ModelInstance(galaxy=Galaxy(...)), dataset_model=DatasetModel(...))``."""

    def __init__(self, **attributes):
        object.__setattr__(self, "_attributes", dict(attributes))

    def __getattr__(self, name):
        attributes = self.__dict__.get("_attributes", {})
        if name in attributes:
            return attributes[name]
        raise AttributeError(f"ModelInstance has no attribute {name!r} (it has {', '.join(attributes) or 'none'})")

    def __setattr__(self, name, value):
        raise AttributeError("ModelInstance is immutable")

    def __iter__(self):
        return iter(self._attributes.values())

    def __len__(self) -> int:
        return len(self._attributes)

    def items(self):
        return self._attributes.items()

    def __contains__(self, name) -> bool:
        return name in self._attributes

    def tree_flatten(self):
        names = tuple(self._attributes)
        return tuple(self._attributes.values()), names

    @classmethod
    def tree_unflatten(cls, names, children):
        return cls(**dict(zip(names, children)))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._attributes.items())
        return f"ModelInstance({inner})"
