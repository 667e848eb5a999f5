"""stub"""


async def run(env):
    raise NotImplementedError
